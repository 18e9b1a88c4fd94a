#!/usr/bin/env bash
# Peers that only the tests need: Debian's Chromium and CJK fonts for the browser tests, DejaVu for the chart test.
# Installed when missing and possible (root with apt-get); otherwise a loud warning, and those tests skip saying why
# (in CI, where QUNBUS_REQUIRE_ALL=1, they fail instead: tests/peers.py).
# (The npm packages of the official puppet service and of examples/dice-ts are installed by their test fixtures
# from the committed locks; buildah and mmdebstrap for the image test by tools/image.py, when missing.)
set -u
if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "noto.*cjk" && [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian chromium and fonts-noto-cjk for the browser test ..."
  if apt-get update -qq >/dev/null 2>&1 &&
     DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk fonts-noto-color-emoji fonts-dejavu-core >/dev/null 2>&1; then
    exit 0
  fi
fi
echo "WARNING: could not install Debian chromium, fonts-noto-cjk, fonts-dejavu-core: the browser and chart tests will be SKIPPED" >&2
exit 0
