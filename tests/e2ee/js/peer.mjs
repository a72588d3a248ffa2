// SPDX-License-Identifier: MIT
/*
 * Element's crypto stack as a scripted Matrix client for scribe's E2EE
 * tests: matrix-js-sdk with its Rust crypto (matrix-sdk-crypto-wasm,
 * vodozemac), the combination Element Web ships, where every other peer
 * of the suite is matrix-nio on libolm like scribe itself.
 *
 * Protocol (tests/e2ee/element_peer.py drives it): one JSON object per
 * line on stdin, {"id": N, "cmd": "...", ...arguments}; on stdout one
 * JSON object per line, either the answer {"type": "reply", "id": N,
 * "ok": true, "result": ...} / {"type": "reply", "id": N, "ok": false,
 * "error": "..."}, or something that happened on its own:
 * {"type": "event", ...} for each room event as this client sees it
 * (again whenever a later key decrypts it) and {"type": "http", ...} for
 * each request the homeserver refused, so a test can name the endpoints
 * a homeserver lacks. stdout carries nothing else: the SDK's own logging
 * goes to stderr.
 */
import "fake-indexeddb/auto";
import readline from "node:readline";
import * as sdk from "matrix-js-sdk";
import {
    AllDevicesIsolationMode,
    EventShieldColour,
    EventShieldReason,
    OnlySignedDevicesIsolationMode,
} from "matrix-js-sdk/lib/crypto-api/index.js";
import { logger } from "matrix-js-sdk/lib/logger.js";

const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

/* Console output of the SDK (loglevel writes debug and info through
 * console.log) must not reach stdout, which is the protocol. */
for (const name of ["log", "info", "debug", "trace", "warn"]) {
    console[name] = (...args) => console.error(...args);
}
logger.setLevel(process.env.SCRIBE_PEER_LOG || "warn");

/* Every answer >= 400 or failed request, reported as it happens: the
 * test homeserver implements only what scribe and matrix-nio use, and a
 * missing endpoint must show up as a named request, not as a hang. */
async function fetchFn(url, init = {}) {
    const method = (init.method || "GET").toUpperCase();
    const path = new URL(url).pathname;
    try {
        const r = await fetch(url, init);
        if (r.status >= 400) {
            let body = "";
            try {
                body = (await r.clone().text()).slice(0, 300);
            } catch {
                /* the body is only for the report */
            }
            out({ type: "http", method, path, status: r.status, body });
        }
        return r;
    } catch (e) {
        out({ type: "http", method, path, status: null, body: String(e) });
        throw e;
    }
}

let client = null;
let password = null;
const S = {}; /* login result: user_id, device_id */

function crypto() {
    if (!client || !client.getCrypto()) throw new Error("not logged in with crypto");
    return client.getCrypto();
}

function enumName(en, v) {
    return v === null || v === undefined ? null : (en[v] ?? String(v));
}

/* What a user of Element would see of ev: sender, clear type and body,
 * the reply it answers, whether and why it could not be decrypted, and
 * the shield Element would draw beside it. */
async function describe(ev) {
    const content = ev.getContent() || {};
    const clearRel = ev.isEncrypted() ? ev.getClearContent()?.["m.relates_to"] : undefined;
    const d = {
        type: "event",
        room_id: ev.getRoomId(),
        event_id: ev.getId(),
        sender: ev.getSender(),
        etype: ev.getType(),
        encrypted: ev.isEncrypted(),
        body: typeof content.body === "string" ? content.body : null,
        msgtype: content.msgtype ?? null,
        in_reply_to: ev.replyEventId ?? null,
        clear_in_reply_to: clearRel?.["m.in_reply_to"]?.event_id ?? null,
        decryption_failure: ev.isDecryptionFailure()
            ? (ev.decryptionFailureReason ?? "UNKNOWN") : null,
        sender_device: null,
        shield: null,
        shield_reason: null,
    };
    if (ev.isEncrypted() && !ev.isDecryptionFailure()) {
        d.sender_device = ev.getWireContent()?.device_id ?? null;
        try {
            const info = await crypto().getEncryptionInfoForEvent(ev);
            if (info) {
                d.shield = enumName(EventShieldColour, info.shieldColour);
                d.shield_reason = enumName(EventShieldReason, info.shieldReason);
            }
        } catch (e) {
            d.shield = "error: " + e;
        }
    }
    return d;
}

const seen = new Map(); /* event id -> MatrixEvent, for event_info */

function report(ev) {
    if (!ev.getRoomId() || ev.isState()) return;
    seen.set(ev.getId(), ev);
    /* an encrypted event is reported once its decryption settled */
    if (ev.isBeingDecrypted() || ev.shouldAttemptDecryption()) return;
    describe(ev).then(out, (e) => out({ type: "log", text: "describe: " + e }));
}

function attach() {
    client.on(sdk.RoomEvent.Timeline, (ev, room, toStartOfTimeline) => {
        if (!toStartOfTimeline) report(ev);
    });
    client.on(sdk.MatrixEventEvent.Decrypted, (ev) => report(ev));
}

async function uiaUpload(makeRequest) {
    /* Synapse 1.67 always asks for the password; current Synapse and
     * the test homeserver let a first upload through. Try without,
     * answer the 401 with the session it names. */
    try {
        await makeRequest(null);
        return;
    } catch (e) {
        const session = e?.data?.session;
        if (e?.httpStatus !== 401 || !e?.data?.flows) throw e;
        await makeRequest({
            type: "m.login.password",
            identifier: { type: "m.id.user", user: S.user_id },
            password,
            ...(session ? { session } : {}),
        });
    }
}

function status(s) {
    return s && {
        signedByOwner: s.signedByOwner,
        crossSigningVerified: s.crossSigningVerified,
        localVerified: s.localVerified,
        tofu: s.tofu,
        isVerified: s.isVerified(),
    };
}

async function waitSync(timeoutMs) {
    const ok = new Set(["PREPARED", "SYNCING"]);
    if (ok.has(client.getSyncState())) return;
    await new Promise((resolve, reject) => {
        const t = setTimeout(
            () => reject(new Error("no sync within " + timeoutMs + " ms")), timeoutMs);
        client.on(sdk.ClientEvent.Sync, function h(state) {
            if (ok.has(state)) {
                clearTimeout(t);
                client.off(sdk.ClientEvent.Sync, h);
                resolve();
            }
        });
    });
}

const commands = {
    async login({ base, user, password: pw, device_name }) {
        const tmp = sdk.createClient({ baseUrl: base, fetchFn });
        const r = await tmp.loginRequest({
            type: "m.login.password",
            identifier: { type: "m.id.user", user },
            password: pw,
            initial_device_display_name: device_name || "Element peer",
        });
        password = pw;
        S.user_id = r.user_id;
        S.device_id = r.device_id;
        client = sdk.createClient({
            baseUrl: base,
            fetchFn,
            userId: r.user_id,
            deviceId: r.device_id,
            accessToken: r.access_token,
            store: new sdk.MemoryStore(),
        });
        /* fake-indexeddb stands in for the browser's IndexedDB, which is
         * where Element keeps the Rust crypto store; a fresh database per
         * process so two peers never share one */
        await client.initRustCrypto({
            useIndexedDB: true,
            cryptoDatabasePrefix: "peer-" + process.pid + "-" + r.device_id,
        });
        attach();
        const c = crypto();
        return { user_id: r.user_id, device_id: r.device_id, version: c.getVersion() };
    },

    async start({ timeout_ms = 30000 }) {
        await client.startClient({ initialSyncLimit: 50, lazyLoadMembers: false });
        await waitSync(timeout_ms);
        return { state: client.getSyncState() };
    },

    async bootstrap_cross_signing() {
        const c = crypto();
        await c.bootstrapCrossSigning({ authUploadDeviceSigningKeys: uiaUpload });
        const st = await c.getCrossSigningStatus();
        return { ready: await c.isCrossSigningReady(), status: st };
    },

    async create_room({ name = "ops", invite = [] }) {
        const r = await client.createRoom({
            name,
            preset: "private_chat",
            invite,
            initial_state: [{
                type: "m.room.encryption",
                state_key: "",
                content: { algorithm: "m.megolm.v1.aes-sha2" },
            }],
        });
        return { room_id: r.room_id };
    },

    async join({ room_id }) {
        await client.joinRoom(room_id);
        return {};
    },

    /* What this client knows of the room: whether it has it, whether it
     * would encrypt in it, and everyone's membership. */
    async room({ room_id }) {
        const room = client.getRoom(room_id);
        if (!room) return { known: false };
        const members = {};
        for (const m of room.currentState.getMembers()) members[m.userId] = m.membership;
        return {
            known: true,
            encrypted: await crypto().isEncryptionEnabledInRoom(room_id),
            members,
        };
    },

    async send({ room_id, body, msgtype = "m.text" }) {
        const r = await client.sendMessage(room_id, { msgtype, body });
        return { event_id: r.event_id };
    },

    /* "all": Element's default; "strict": Element's "exclude insecure
     * devices" (room keys only for devices their owner cross-signed,
     * m.room_key.withheld m.unverified for the rest, and no decryption
     * of what such a device sends). */
    async isolation({ mode }) {
        const m = mode === "strict" ? new OnlySignedDevicesIsolationMode()
            : mode === "all" ? new AllDevicesIsolationMode(false) : null;
        if (!m) throw new Error("unknown isolation mode " + mode);
        crypto().setDeviceIsolationMode(m);
        return {};
    },

    /* user_id's devices as this client's crypto sees them after a fresh
     * /keys/query (download: true), each with its verification status. */
    async devices({ user_id, download = true }) {
        const c = crypto();
        const map = await c.getUserDeviceInfo([user_id], download);
        const devs = {};
        for (const [id, dev] of map.get(user_id) || new Map()) {
            devs[id] = {
                display_name: dev.displayName ?? null,
                ed25519: dev.getFingerprint?.() ?? null,
                status: status(await c.getDeviceVerificationStatus(user_id, id)),
            };
        }
        const u = await c.getUserVerificationStatus(user_id);
        return {
            devices: devs,
            user: {
                known: u.known ?? null,
                isCrossSigningVerified: u.isCrossSigningVerified(),
                needsUserApproval: u.needsUserApproval ?? null,
            },
        };
    },

    async device_status({ user_id, device_id }) {
        return status(await crypto().getDeviceVerificationStatus(user_id, device_id));
    },

    /* The description of a seen event now (its shield can change once
     * the sender's cross-signing keys are known). */
    async event_info({ event_id }) {
        const ev = seen.get(event_id);
        if (!ev) return { known: false };
        return { known: true, ...(await describe(ev)) };
    },

    async whoami() {
        return { ...S };
    },

    async stop() {
        client?.stopClient();
        setTimeout(() => process.exit(0), 50);
        return {};
    },
};

/* One command at a time, in order, as a user acts: the driver may write
 * the next line before the last answer. */
let queue = Promise.resolve();
const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
    queue = queue.then(() => handle(line));
});

async function handle(line) {
    let req;
    try {
        req = JSON.parse(line);
    } catch (e) {
        out({ type: "reply", id: null, ok: false, error: "bad request line: " + e });
        return;
    }
    const fn = commands[req.cmd];
    try {
        if (!fn) throw new Error("unknown command " + req.cmd);
        out({ type: "reply", id: req.id, ok: true, result: await fn(req) });
    } catch (e) {
        const detail = e?.httpStatus ? ` (${e.httpStatus} ${e.errcode ?? ""})` : "";
        out({ type: "reply", id: req.id, ok: false, error: String(e?.message ?? e) + detail });
    }
}
/* the test went away: so does the peer */
rl.on("close", () => {
    client?.stopClient();
    process.exit(0);
});
process.on("unhandledRejection",
    (e) => out({ type: "log", text: "unhandled: " + (e?.stack ?? e) }));
