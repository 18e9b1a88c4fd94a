// Rolling dice: the domain of this example, with no NATS in it.

export type Lang = "zh" | "en";

export interface Roll {
  count: number;
  sides: number;
  modifier: number;
  faces: number[];
  total: number;
}

const SPEC = /^(\d{0,2})\s*[dD]\s*(\d{1,4})\s*(?:([+-])\s*(\d{1,4}))?$/;
const MAX_DICE = 20;
const MAX_SIDES = 1000;

/** "2d6", "d20", "3d6+2"; empty means one six-sided die. Null when it is not a dice expression we roll. */
export function parse(args: string): Omit<Roll, "faces" | "total"> | null {
  const text = args.trim();
  if (text === "") {
    return { count: 1, sides: 6, modifier: 0 };
  }
  const found = SPEC.exec(text);
  if (found === null) {
    return null;
  }
  const count = found[1] ? Number(found[1]) : 1;
  const sides = Number(found[2]);
  const modifier = found[4] ? Number(found[4]) * (found[3] === "-" ? -1 : 1) : 0;
  if (count < 1 || count > MAX_DICE || sides < 2 || sides > MAX_SIDES) {
    return null;
  }
  return { count, sides, modifier };
}

export function roll(spec: Omit<Roll, "faces" | "total">, die: (sides: number) => number): Roll {
  const faces = Array.from({ length: spec.count }, () => die(spec.sides));
  return { ...spec, faces, total: faces.reduce((sum, face) => sum + face, 0) + spec.modifier };
}

function notation(roll: Omit<Roll, "faces" | "total">): string {
  const modifier = roll.modifier === 0 ? "" : roll.modifier > 0 ? `+${roll.modifier}` : `${roll.modifier}`;
  return `${roll.count}d${roll.sides}${modifier}`;
}

export function describe(result: Roll, lang: Lang): string {
  let expression = result.faces.join(" + ");
  if (result.modifier !== 0) {
    expression += ` ${result.modifier > 0 ? "+" : "-"} ${Math.abs(result.modifier)}`;
  }
  const shown = result.faces.length > 1 || result.modifier !== 0 ? `${expression} = ${result.total}` : expression;
  return lang === "zh" ? `🎲 掷出 ${shown}（${notation(result)}）` : `🎲 rolled ${shown} (${notation(result)})`;
}

export const USAGE: Record<Lang, string> = {
  zh: `掷骰子 [个数]d[面数][+加值]，例如「掷骰子 2d6」「掷骰子 d20+3」；最多 ${MAX_DICE} 个，2 到 ${MAX_SIDES} 面。`,
  en: `roll [count]d[sides][+bonus], e.g. "roll 2d6", "roll d20+3"; up to ${MAX_DICE} dice of 2 to ${MAX_SIDES} sides.`,
};

/** Chinese if the text has any Chinese character, else English (as the Python plumbing decides). */
export function languageOf(text: string): Lang {
  return /[\u3400-\u9fff\uf900-\ufaff]/.test(text) ? "zh" : "en";
}
