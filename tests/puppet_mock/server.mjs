#!/usr/bin/env node
// The official Wechaty peer for qunbus end-to-end tests.
//
// One Node process runs:
//   * the official `wechaty-puppet-service` PuppetServer (gRPC, TLS disabled: python-wechaty has no TLS),
//   * wrapping a `wechaty-puppet-mock` world (contacts, rooms, messages held in memory),
//   * plus a small HTTP/JSON control channel through which Python tests script that world
//     (members speak, join, leave, ask for friendship) and read what the bot did in it.
//
// Usage: node server.mjs --grpc-port 18788 --token T [--control-port 0] [--bot-id ID] [--bot-name NAME]
// On start it prints one JSON line on stdout: {"event":"listening","grpcPort":..,"controlPort":..,...}.
// It exits on SIGTERM/SIGINT or when its stdin closes (so it never outlives the test that started it).

import http from 'node:http'
import { createHash, randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'

import * as PUPPET from 'wechaty-puppet'
import { PuppetServer, log } from 'wechaty-puppet-service'
import { PuppetMock, mock } from 'wechaty-puppet-mock'

const { values: args } = parseArgs({
  options: {
    'grpc-port': { type: 'string' },
    'control-port': { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    token: { type: 'string' },
    'bot-id': { type: 'string', default: 'qunbus-bot' },
    'bot-name': { type: 'string', default: 'QunBot' },
    // Above this many members WeChat refuses a direct add and the inviter must send an invitation.
    'direct-add-limit': { type: 'string', default: '40' },
  },
})
if (!args['grpc-port'] || !args.token) {
  console.error('usage: node server.mjs --grpc-port PORT --token TOKEN [--control-port PORT]')
  process.exit(2)
}
log.level(process.env.WECHATY_LOG || 'warn')
process.noDeprecation = true // grpc-js: "Calling start() is no longer necessary" (PuppetServer still calls it)

const DIRECT_ADD_LIMIT = Number(args['direct-add-limit'])
const isRoomId = (id) => id.endsWith('@chatroom')

/** Everything the bot did to the world, in order, for the tests to read. */
const observed = {
  sent: [], // {id, roomId, listenerId, text, mentionIds, timestamp}
  files: [], // {id, roomId, listenerId, name, mediaType, size, sha256, timestamp}
  removed: [], // {roomId, contactId, timestamp}
  added: [], // {roomId, contactId, timestamp}
  invited: [], // {roomId, contactId, timestamp}: direct add refused, invitation sent instead
  acceptedFriendships: [], // {friendshipId, contactId, timestamp}
  topics: [], // {roomId, topic, timestamp}
}
const friendships = new Map() // friendshipId -> FriendshipPayloadReceive
const roomAliases = new Map() // roomId -> Map(contactId -> alias shown in that room)

/**
 * PuppetMock with the bot-side operations made real, so the effects of the gateway's commands are observable.
 * Upstream PuppetMock's roomAdd/roomDel/friendshipAccept are no-ops, roomTopic/contactAlias return constants,
 * messageSendText drops the mentions and returns no message id.
 */
class WorldPuppet extends PuppetMock {
  bot() {
    return this.mocker.ContactMock.load(this.currentUserId)
  }

  async messageSendText(conversationId, text, mentionIdList = []) {
    if (!this.isLoggedIn) throw new Error('not logged in')
    const base = { id: randomUUID(), talkerId: this.currentUserId, timestamp: Date.now(), type: PUPPET.types.Message.Text, text }
    let payload
    if (isRoomId(conversationId)) {
      const room = this.mocker.RoomMock.load(conversationId)
      if (!room.payload.memberIdList.includes(this.currentUserId)) {
        throw new Error(`bot is not a member of room ${conversationId}`)
      }
      payload = { ...base, roomId: conversationId, mentionIdList: [...mentionIdList] }
    } else {
      this.mocker.ContactMock.load(conversationId) // throws for an unknown contact, as WeChat would refuse
      payload = { ...base, listenerId: conversationId }
    }
    this.mocker.MessageMock.create(payload)
    observed.sent.push({
      id: payload.id,
      roomId: payload.roomId ?? null,
      listenerId: payload.listenerId ?? null,
      text,
      mentionIds: [...mentionIdList],
      timestamp: payload.timestamp,
    })
    // WeChat echoes the bot's own messages back as message events.
    this.emit('message', { messageId: payload.id })
    return payload.id
  }

  async messageSendFile(conversationId, fileBox) {
    if (!this.isLoggedIn) throw new Error('not logged in')
    const data = await fileBox.toBuffer()
    const id = randomUUID()
    const inRoom = isRoomId(conversationId)
    if (inRoom && !this.mocker.RoomMock.load(conversationId).payload.memberIdList.includes(this.currentUserId)) {
      throw new Error(`bot is not a member of room ${conversationId}`)
    }
    if (!inRoom) this.mocker.ContactMock.load(conversationId)
    observed.files.push({
      id,
      roomId: inRoom ? conversationId : null,
      listenerId: inRoom ? null : conversationId,
      name: fileBox.name,
      mediaType: fileBox.mediaType,
      size: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
      timestamp: Date.now(),
    })
    return id
  }

  async roomDel(roomId, contactId) {
    const room = this.mocker.RoomMock.load(roomId)
    if (!room.payload.memberIdList.includes(contactId)) {
      throw new Error(`${contactId} is not a member of ${roomId}`)
    }
    observed.removed.push({ roomId, contactId, timestamp: Date.now() })
    this.dirtyRoom(roomId)
    room.remove(this.mocker.ContactMock.load(contactId)).by(this.bot()) // mutates members, emits room-leave
  }

  async roomAdd(roomId, contactId, inviteOnly = false) {
    const room = this.mocker.RoomMock.load(roomId)
    const contact = this.mocker.ContactMock.load(contactId)
    if (room.payload.memberIdList.includes(contactId)) {
      throw new Error(`${contactId} is already a member of ${roomId}`)
    }
    if (inviteOnly) {
      observed.invited.push({ roomId, contactId, timestamp: Date.now() })
      return
    }
    if (room.payload.memberIdList.length > DIRECT_ADD_LIMIT) {
      throw new Error(`room ${roomId} has more than ${DIRECT_ADD_LIMIT} members: send an invitation instead`)
    }
    observed.added.push({ roomId, contactId, timestamp: Date.now() })
    this.dirtyRoom(roomId)
    room.add(contact).by(this.bot()) // mutates members, emits room-join
  }

  async roomTopic(roomId, topic) {
    const room = this.mocker.RoomMock.load(roomId)
    if (typeof topic === 'undefined') return room.payload.topic
    observed.topics.push({ roomId, topic, timestamp: Date.now() })
    this.dirtyPayload(PUPPET.types.Payload.Room, roomId)
    room.topic(topic).by(this.bot())
  }

  async contactAlias(contactId, alias) {
    const payload = this.mocker.contactPayload(contactId)
    if (typeof alias === 'undefined') return payload.alias || ''
    payload.alias = alias
    this.dirtyPayload(PUPPET.types.Payload.Contact, contactId)
  }

  async roomMemberRawPayload(roomId, contactId) {
    const contact = this.mocker.contactPayload(contactId)
    return {
      avatar: contact.avatar,
      id: contactId,
      name: contact.name,
      roomAlias: roomAliases.get(roomId)?.get(contactId) ?? '',
    }
  }

  async friendshipRawPayload(id) {
    const payload = friendships.get(id)
    if (!payload) throw new Error(`no friendship ${id}`)
    return payload
  }

  async friendshipAccept(friendshipId) {
    const payload = await this.friendshipRawPayload(friendshipId)
    this.mocker.contactPayload(payload.contactId).friend = true
    observed.acceptedFriendships.push({ friendshipId, contactId: payload.contactId, timestamp: Date.now() })
    this.dirtyPayload(PUPPET.types.Payload.Contact, payload.contactId)
  }

  dirtyRoom(roomId) {
    this.dirtyPayload(PUPPET.types.Payload.Room, roomId)
    this.dirtyPayload(PUPPET.types.Payload.RoomMember, roomId)
  }
}

const mocker = new mock.Mocker()
const puppet = new WorldPuppet({ mocker })
const bot = mocker.createContact({ id: args['bot-id'], name: args['bot-name'], friend: false })

/**
 * Log the bot in each time a client starts the puppet. python-wechaty calls stop() then start() on connect,
 * and PuppetLoginMixin.stop() emits `logout` but keeps the user id, so login() would refuse: reset it first.
 * PuppetMock never emits `ready`; python-wechaty waits for it, so emit it shortly after login.
 */
let ready = false
mocker.use(function logInTheBot(m) {
  if (puppet.isLoggedIn) puppet.__currentUserId = undefined
  m.login(bot)
  const timer = setTimeout(() => {
    ready = true
    puppet.emit('ready', { data: 'ready' })
  }, 200)
  return () => {
    clearTimeout(timer)
    ready = false
  }
})

// ---------------------------------------------------------------------------------------------------------
// World scripting: what the other people in WeChat do
// ---------------------------------------------------------------------------------------------------------

function createContact({ id, name, alias, friend = true }) {
  if (id && mocker.cacheContactPayload.has(id)) return mocker.contactPayload(id)
  if (id && id.includes('@')) throw new HttpError(400, `contact id must not contain "@": ${id}`)
  return mocker.createContact({ ...(id ? { id } : {}), name, alias, friend }).payload
}

function createRoom({ id, topic, memberIds = [], ownerId, adminIds = [], aliases = {}, includeBot = true }) {
  const roomId = id ? (isRoomId(id) ? id : `${id}@chatroom`) : `${randomUUID()}@chatroom`
  for (const memberId of memberIds) mocker.ContactMock.load(memberId)
  const members = [...memberIds]
  if (includeBot && !members.includes(bot.id)) members.push(bot.id)
  roomAliases.set(roomId, new Map(Object.entries(aliases)))
  const room = mocker.createRoom({
    id: roomId,
    topic: topic ?? roomId,
    memberIdList: members,
    ownerId: ownerId ?? memberIds[0],
    adminIdList: [...adminIds],
  })
  return room.payload
}

/** A member speaks: in a room (optionally @-mentioning), or directly to the bot (or another contact). */
function say({ talkerId, roomId, listenerId, text, mentionIds = [] }) {
  const talker = mocker.ContactMock.load(talkerId)
  const mentions = mentionIds.map((cid) => mocker.ContactMock.load(cid))
  const conversation = roomId
    ? mocker.RoomMock.load(roomId)
    : mocker.ContactMock.load(listenerId ?? bot.id)
  const before = new Set(mocker.cacheMessagePayload.keys())
  talker.say(text, mentions).to(conversation)
  const id = [...mocker.cacheMessagePayload.keys()].find((k) => !before.has(k))
  return { id }
}

function join(roomId, { contactIds, inviterId }) {
  const room = mocker.RoomMock.load(roomId)
  const invitees = contactIds.map((cid) => mocker.ContactMock.load(cid))
  puppet.dirtyRoom(roomId)
  room.add(...invitees).by(mocker.ContactMock.load(inviterId ?? room.payload.ownerId))
  return room.payload
}

/** Members leave: on their own (no remover given) or removed by someone (owner/admin). */
function leave(roomId, { contactIds, removerId }) {
  const room = mocker.RoomMock.load(roomId)
  const leavers = contactIds.map((cid) => mocker.ContactMock.load(cid))
  puppet.dirtyRoom(roomId)
  room.remove(...leavers).by(mocker.ContactMock.load(removerId ?? contactIds[0]))
  return room.payload
}

function changeTopic(roomId, { topic, changerId }) {
  const room = mocker.RoomMock.load(roomId)
  puppet.dirtyPayload(PUPPET.types.Payload.Room, roomId)
  room.topic(topic).by(mocker.ContactMock.load(changerId))
  return room.payload
}

function requestFriendship({ contactId, hello = '' }) {
  mocker.ContactMock.load(contactId)
  const id = randomUUID()
  friendships.set(id, {
    id,
    contactId,
    hello,
    scene: PUPPET.types.FriendshipScene.Unknown,
    stranger: '',
    ticket: '',
    timestamp: Date.now(),
    type: PUPPET.types.Friendship.Receive,
  })
  puppet.emit('friendship', { friendshipId: id })
  return { id }
}

// ---------------------------------------------------------------------------------------------------------
// HTTP control channel
// ---------------------------------------------------------------------------------------------------------

class HttpError extends Error {
  constructor(status, message) {
    super(message)
    this.status = status
  }
}

const routes = [
  ['GET', /^\/state$/, () => ({
    botId: bot.id,
    botName: bot.payload.name,
    loggedIn: puppet.isLoggedIn,
    ready,
    grpcPort: Number(args['grpc-port']),
  })],
  ['POST', /^\/contacts$/, (_, body) => ({ contacts: (body.contacts ?? []).map(createContact) })],
  ['POST', /^\/rooms$/, (_, body) => createRoom(body)],
  ['GET', /^\/rooms\/([^/]+)$/, ([roomId]) => mocker.roomPayload(roomId)],
  ['POST', /^\/rooms\/([^/]+)\/join$/, ([roomId], body) => join(roomId, body)],
  ['POST', /^\/rooms\/([^/]+)\/leave$/, ([roomId], body) => leave(roomId, body)],
  ['POST', /^\/rooms\/([^/]+)\/topic$/, ([roomId], body) => changeTopic(roomId, body)],
  ['POST', /^\/messages$/, (_, body) => say(body)],
  ['POST', /^\/friendships$/, (_, body) => requestFriendship(body)],
  ['GET', /^\/observed$/, () => observed],
]

async function readJson(req) {
  const chunks = []
  for await (const chunk of req) chunks.push(chunk)
  const raw = Buffer.concat(chunks).toString('utf8')
  return raw ? JSON.parse(raw) : {}
}

const control = http.createServer(async (req, res) => {
  const path = new URL(req.url, 'http://localhost').pathname
  let status = 200
  let result
  try {
    const route = routes.find(([method, pattern]) => method === req.method && pattern.test(path))
    if (!route) throw new HttpError(404, `no route ${req.method} ${path}`)
    const params = route[1].exec(path).slice(1).map(decodeURIComponent)
    result = await route[2](params, req.method === 'POST' ? await readJson(req) : {})
  } catch (e) {
    // Unknown ids make the mock throw plain Errors ("... not exist."): report them as the caller's mistake.
    status = e.status ?? 400
    result = { error: String(e.message ?? e) }
  }
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(result))
})

// ---------------------------------------------------------------------------------------------------------
// Start / stop
// ---------------------------------------------------------------------------------------------------------

const grpcEndpoint = `${args.host}:${args['grpc-port']}`
const server = new PuppetServer({ endpoint: grpcEndpoint, puppet, token: args.token, tls: { disable: true } })

let stopping = false
async function shutdown(code = 0) {
  if (stopping) return
  stopping = true
  control.close()
  await server.stop().catch(() => {})
  await puppet.stop().catch(() => {})
  process.exit(code)
}
process.on('SIGTERM', () => shutdown(0))
process.on('SIGINT', () => shutdown(0))
process.stdin.on('end', () => shutdown(0))
process.stdin.resume()

await server.start()
await new Promise((resolve) => control.listen(Number(args['control-port']), args.host, resolve))
console.log(JSON.stringify({
  event: 'listening',
  grpcPort: Number(args['grpc-port']),
  controlPort: control.address().port,
  botId: bot.id,
  botName: bot.payload.name,
}))
