/* SPDX-License-Identifier: MIT */
/*
 * test_crypto.c - the crypto module with two (sometimes three) in-process
 * devices: alice and bob exchange keys, olm messages both ways and megolm
 * room messages, the way the bot and a peer would over a homeserver. Also
 * the failure paths a peer or a broken store can cause (wrong pickle key,
 * wrong session, garbage, truncated or tampered ciphertext, forged
 * plaintext) and a few real matrix-nio objects from
 * tests/data/synapse (40-48), inlined so the test stands alone.
 */
#include <stdlib.h>
#include <string.h>

#include "canonjson.h"
#include "crypto.h"
#include "harness.h"
#include "sbuf.h"
#include "banned.h"

#define ALICE "@alice:localhost"
#define ALICE_DEV "ALICEDEV"
#define BOB "@bob:localhost"
#define BOB_DEV "BOBDEV"
#define MALLORY "@mallory:localhost"
#define MALLORY_DEV "MALLORYDEV"
#define ROOM "!room:localhost"

/* bob's nio device OMEZEAYXNS (fixtures 41, 43, 44, 45) */
#define NIO_BOB_ED "/ET7ZGtH461NgQneBWAF/1ReeGXrU3VfWo3wCFHUd20"
#define NIO_BOB_CURVE "+MFV5f3dFDEkJgJkU4yI3ayavB50u40epecbaZN1LQ8"
#define NIO_ALICE_CURVE "9eWmk/voP6Krb3K9wo76O7+Ow4R6TaAW1hnKK9Eb2Dg"

static uint8_t pkey1[32], pkey2[32];

static void init_keys(void)
{
	CHECK_OK(crypto_random(pkey1, sizeof(pkey1)));
	CHECK_OK(crypto_random(pkey2, sizeof(pkey2)));
	pkey2[0] = (uint8_t)(pkey1[0] + 1); /* surely different */
}

static json_t *first_value(json_t *obj, const char **key)
{
	void *it = json_object_iter(obj);

	CHECK(it != NULL);
	if (key)
		*key = json_object_iter_key(it);
	return json_object_iter_value(it);
}

static char *key_id(const char *alg, const char *id)
{
	struct sbuf sb;

	sbuf_init(&sb, 0);
	CHECK_OK(sbuf_printf(&sb, "%s:%s", alg, id));
	return sbuf_detach(&sb, NULL);
}

/* What /keys/claim would hand out for acc: one fresh signed OTK. */
static json_t *claim_otk(struct crypto_account *acc, const char *user,
			 const char *dev)
{
	json_t *otks = NULL, *one;
	size_t n = 0;

	CHECK_OK(crypto_account_generate_otks(acc, 1, 0, &n));
	CHECK_INT(n, 1);
	CHECK_OK(crypto_account_one_time_keys(acc, user, dev, &otks));
	CHECK_INT(json_object_size(otks), 1);
	one = json_incref(first_value(otks, NULL));
	json_decref(otks);
	CHECK_OK(crypto_account_mark_published(acc));
	return one;
}

/* Encrypt text on s; check the type. */
static char *enc(struct crypto_session *s, const char *text, int want_type)
{
	char *body = NULL;
	int type = -1;

	CHECK_OK(crypto_session_encrypt(s, text, strlen(text), &type, &body));
	CHECK_INT(type, want_type);
	return body;
}

static void dec_expect(struct crypto_session *s, int type, const char *body,
		       const char *want)
{
	char *text = NULL;
	size_t len = 0;

	CHECK_OK(crypto_session_decrypt(s, type, body, &text, &len));
	CHECK_STR(text, want);
	CHECK_INT(len, strlen(want));
	crypto_free_secret(text);
}

/*
 * An established olm pair: alice's outbound *as to bob, bob's inbound
 * *bs, with one message each way so both sides send type 1 from now on.
 */
static void make_pair(struct crypto_account *a, struct crypto_account *b,
		      struct crypto_session **as, struct crypto_session **bs)
{
	json_t *claimed = claim_otk(b, BOB, BOB_DEV);
	char *body;

	CHECK_OK(crypto_session_new_outbound(a, claimed, BOB, BOB_DEV,
					     crypto_account_ed25519(b),
					     crypto_account_curve25519(b), as));
	json_decref(claimed);
	body = enc(*as, "hello bob", CRYPTO_OLM_PREKEY);
	CHECK_OK(crypto_session_new_inbound(b, crypto_account_curve25519(a),
					    body, bs));
	dec_expect(*bs, CRYPTO_OLM_PREKEY, body, "hello bob");
	CHECK_OK(crypto_account_remove_otks(b, *bs));
	free(body);
	body = enc(*bs, "hello alice", CRYPTO_OLM_MESSAGE);
	dec_expect(*as, CRYPTO_OLM_MESSAGE, body, "hello alice");
	free(body);
}

/* ------------------------------------------------------------------ */

static void test_device_keys_signed(void)
{
	struct crypto_account *a = NULL, *b = NULL;
	json_t *dk = NULL, *dk2 = NULL, *alg, *keys;
	struct sbuf sb;
	const char *sig, *ed;
	char *raw = NULL;

	CHECK_OK(crypto_account_new(&a));
	CHECK_OK(crypto_account_new(&b));
	ed = crypto_account_ed25519(a);
	CHECK_INT(strlen(ed), 43);
	CHECK_INT(strlen(crypto_account_curve25519(a)), 43);
	CHECK(strcmp(ed, crypto_account_ed25519(b)) != 0);

	CHECK_OK(crypto_account_device_keys(a, ALICE, ALICE_DEV, &dk));
	CHECK_STR(json_string_value(json_object_get(dk, "user_id")), ALICE);
	CHECK_STR(json_string_value(json_object_get(dk, "device_id")),
		  ALICE_DEV);
	alg = json_object_get(dk, "algorithms");
	CHECK_STR(json_string_value(json_array_get(alg, 0)),
		  CRYPTO_OLM_ALGORITHM);
	CHECK_STR(json_string_value(json_array_get(alg, 1)),
		  CRYPTO_MEGOLM_ALGORITHM);
	keys = json_object_get(dk, "keys");
	CHECK_STR(json_string_value(json_object_get(keys, "curve25519:"
						    ALICE_DEV)),
		  crypto_account_curve25519(a));
	CHECK_STR(json_string_value(json_object_get(keys, "ed25519:"
						    ALICE_DEV)),
		  ed);

	/* through the module's own check ... */
	CHECK_OK(crypto_verify_signed_json(dk, ALICE, "ed25519:" ALICE_DEV,
					   ed));
	/* ... and by hand over the canonical form */
	sig = json_string_value(json_object_get(
		json_object_get(json_object_get(dk, "signatures"), ALICE),
		"ed25519:" ALICE_DEV));
	CHECK(sig != NULL);
	sbuf_init(&sb, 0);
	CHECK_OK(canonjson_signable(dk, &sb));
	CHECK_OK(crypto_verify_ed25519(ed, sb.buf, sb.len, sig));
	sbuf_release(&sb);

	/* wrong key, wrong signer, changed content */
	CHECK_INT(crypto_verify_signed_json(dk, ALICE, "ed25519:" ALICE_DEV,
					    crypto_account_ed25519(b)),
		  SC_ECRYPTO);
	CHECK_INT(crypto_verify_signed_json(dk, BOB, "ed25519:" ALICE_DEV, ed),
		  SC_ENOTFOUND);
	CHECK_INT(crypto_verify_signed_json(dk, ALICE, "ed25519:OTHER", ed),
		  SC_ENOTFOUND);
	dk2 = json_deep_copy(dk);
	json_object_set_new(json_object_get(dk2, "keys"), "curve25519:X",
			    json_string("x"));
	CHECK_INT(crypto_verify_signed_json(dk2, ALICE, "ed25519:" ALICE_DEV,
					    ed),
		  SC_ECRYPTO);
	json_decref(dk2);

	/* the same object again (needed for /keys/signatures/upload) */
	CHECK_OK(crypto_account_device_keys(a, ALICE, ALICE_DEV, &dk2));
	CHECK(json_equal(dk, dk2));
	json_decref(dk2);

	/* raw signing */
	CHECK_OK(crypto_account_sign(a, "abc", 3, &raw));
	CHECK_INT(strlen(raw), 86);
	CHECK_OK(crypto_verify_ed25519(ed, "abc", 3, raw));
	CHECK_INT(crypto_verify_ed25519(ed, "abd", 3, raw), SC_ECRYPTO);
	CHECK_INT(crypto_verify_ed25519(ed, "abc", 3, "not*base64"), SC_EINVAL);
	CHECK_INT(crypto_verify_ed25519("short", "abc", 3, raw), SC_EINVAL);
	free(raw);

	json_decref(dk);
	crypto_account_free(a);
	crypto_account_free(b);
}

static void test_otk_and_fallback_signed(void)
{
	struct crypto_account *a = NULL;
	json_t *otks = NULL, *fb = NULL, *val;
	const char *name, *ed;
	size_t n = 0;
	struct sbuf sb;

	CHECK_OK(crypto_account_new(&a));
	ed = crypto_account_ed25519(a);
	CHECK_OK(crypto_account_generate_otks(a, 5, 0, &n));
	CHECK_INT(n, 5);
	CHECK_OK(crypto_account_unpublished_count(a, &n));
	CHECK_INT(n, 5);
	CHECK_OK(crypto_account_one_time_keys(a, ALICE, ALICE_DEV, &otks));
	CHECK_INT(json_object_size(otks), 5);
	sbuf_init(&sb, 0);
	json_object_foreach(otks, name, val) {
		const char *k = json_string_value(json_object_get(val, "key"));
		CHECK(strncmp(name, "signed_curve25519:", 18) == 0);
		CHECK(k && strlen(k) == 43);
		CHECK_OK(crypto_verify_signed_json(val, ALICE,
						   "ed25519:" ALICE_DEV, ed));
		/* signed over {"key": K} and nothing else */
		sbuf_setlen(&sb, 0);
		CHECK_OK(canonjson_signable(val, &sb));
		CHECK(sb.len == 10 + strlen(k)); /* {"key":"K"} */
		CHECK(strncmp(sb.buf, "{\"key\":\"", 8) == 0);
	}
	json_decref(otks);
	CHECK_OK(crypto_account_mark_published(a));
	CHECK_OK(crypto_account_unpublished_count(a, &n));
	CHECK_INT(n, 0);
	CHECK_OK(crypto_account_one_time_keys(a, ALICE, ALICE_DEV, &otks));
	CHECK_INT(json_object_size(otks), 0);
	json_decref(otks);

	/* no fallback key yet: nothing to upload */
	CHECK_OK(crypto_account_fallback_keys(a, ALICE, ALICE_DEV, &fb));
	CHECK_INT(json_object_size(fb), 0);
	json_decref(fb);
	CHECK_OK(crypto_account_generate_fallback(a));
	CHECK_OK(crypto_account_fallback_keys(a, ALICE, ALICE_DEV, &fb));
	CHECK_INT(json_object_size(fb), 1);
	val = first_value(fb, &name);
	CHECK(strncmp(name, "signed_curve25519:", 18) == 0);
	CHECK(json_is_true(json_object_get(val, "fallback")));
	CHECK_OK(crypto_verify_signed_json(val, ALICE, "ed25519:" ALICE_DEV,
					   ed));
	sbuf_setlen(&sb, 0);
	CHECK_OK(canonjson_signable(val, &sb));
	CHECK(strncmp(sb.buf, "{\"fallback\":true,\"key\":\"", 24) == 0);
	sbuf_release(&sb);
	json_decref(fb);
	CHECK_OK(crypto_account_mark_published(a));
	CHECK_OK(crypto_account_fallback_keys(a, ALICE, ALICE_DEV, &fb));
	CHECK_INT(json_object_size(fb), 0);
	json_decref(fb);
	/* a new one replaces it; the old one can then be forgotten */
	CHECK_OK(crypto_account_generate_fallback(a));
	CHECK_OK(crypto_account_fallback_keys(a, ALICE, ALICE_DEV, &fb));
	CHECK_INT(json_object_size(fb), 1);
	json_decref(fb);
	crypto_account_forget_old_fallback(a);
	crypto_account_free(a);
}

/* Real matrix-nio keys (fixtures 44 and 41) verify with our code. */
static void test_nio_signed_keys_verify(void)
{
	json_error_t jerr;
	json_t *otk, *fb;
	struct crypto_account *a = NULL;
	struct crypto_session *s = NULL;

	otk = json_loads(
		"{\"key\": \"Ka2ABIwDK0q91Mn+wKguPgiuSHu+uMz3Lfis1/4nNR8\","
		" \"signatures\": {\"@bob:localhost\": {\"ed25519:OMEZEAYXNS\":"
		" \"XCippWw8aQ8aGCUPoqgNCFhjU7pLG3g3ABeTRg1/F2zadzYY3oYJwIOGDr3"
		"IbkKUl68DoX4WZkPkpWY9CauxAQ\"}}}", 0, &jerr);
	fb = json_loads(
		"{\"key\": \"RF0R6NP5DbrQJzocdtSAUEMmuRGAYGZQLc1ReT4xLBY\","
		" \"fallback\": true, \"signatures\": {\"@bob:localhost\":"
		" {\"ed25519:OMEZEAYXNS\": \"+V6YyWrfK6act+hss9v9OoFzMxzmxSC7bw"
		"rlPp7S5krJLIrqq17hiruzrPBGU83R21ByaR9+LwSPUnxxkBuTAw\"}}}",
		0, &jerr);
	CHECK(otk && fb);
	CHECK_OK(crypto_verify_signed_json(otk, BOB, "ed25519:OMEZEAYXNS",
					   NIO_BOB_ED));
	CHECK_OK(crypto_verify_signed_json(fb, BOB, "ed25519:OMEZEAYXNS",
					   NIO_BOB_ED));
	/* the fallback flag is covered by the signature */
	json_object_set_new(fb, "fallback", json_false());
	CHECK_INT(crypto_verify_signed_json(fb, BOB, "ed25519:OMEZEAYXNS",
					    NIO_BOB_ED),
		  SC_ECRYPTO);

	/* and the claimed key is good enough to start a session with */
	CHECK_OK(crypto_account_new(&a));
	CHECK_OK(crypto_session_new_outbound(a, otk, BOB, "OMEZEAYXNS",
					     NIO_BOB_ED, NIO_BOB_CURVE, &s));
	CHECK_INT(strlen(crypto_session_id(s)), 43);
	CHECK(!crypto_session_has_received(s));
	crypto_session_free(s);
	crypto_account_free(a);
	json_decref(otk);
	json_decref(fb);
}

/*
 * Never more than max/2 keys live (on the server or waiting for upload),
 * whatever the caller asks, so libolm's max private keys leave room for
 * claimed keys whose pre-key message is still on its way.
 */
static void test_otk_cap(void)
{
	struct crypto_account *a = NULL;
	size_t max, cap, n = 0, unpublished = 0, server = 0;

	CHECK_OK(crypto_account_new(&a));
	max = crypto_account_max_otks(a);
	CHECK(max >= 2);
	cap = max / 2;
	CHECK_OK(crypto_account_generate_otks(a, 200, 0, &n));
	CHECK_INT(n, cap);
	CHECK_OK(crypto_account_unpublished_count(a, &unpublished));
	CHECK_INT(unpublished, cap);
	/* asking again before the upload adds nothing */
	CHECK_OK(crypto_account_generate_otks(a, 200, 0, &n));
	CHECK_INT(n, 0);
	CHECK_OK(crypto_account_mark_published(a));
	server = cap;

	/* peers claim keys, the bot tops up, over and over */
	for (int round = 0; round < 20; round++) {
		size_t claimed = (size_t)(round * 7 % 23);
		if (claimed > server)
			claimed = server;
		server -= claimed;
		CHECK_OK(crypto_account_generate_otks(a, 200, server, &n));
		CHECK_INT(n, cap - server);
		CHECK_OK(crypto_account_unpublished_count(a, &unpublished));
		CHECK(unpublished + server <= cap);
		CHECK(unpublished <= max);
		CHECK_OK(crypto_account_mark_published(a));
		server += n;
	}
	/* a bogus count from the server generates nothing */
	CHECK_OK(crypto_account_generate_otks(a, 200, (size_t)-1, &n));
	CHECK_INT(n, 0);
	/* a modest target is honoured */
	CHECK_OK(crypto_account_generate_otks(a, 10, 4, &n));
	CHECK_INT(n, 6);
	crypto_account_free(a);
}

static void test_olm_prekey_and_replies(void)
{
	struct crypto_account *a = NULL, *b = NULL;
	struct crypto_session *as = NULL, *bs = NULL, *bs2 = NULL;
	json_t *claimed, *content, *plain = NULL, *ev = NULL, *got = NULL;
	const char *sk = NULL, *body = NULL;
	char *text = NULL, *m;
	int type = -1;
	size_t len = 0;
	bool match = false;

	CHECK_OK(crypto_account_new(&a));
	CHECK_OK(crypto_account_new(&b));
	claimed = claim_otk(b, BOB, BOB_DEV);
	CHECK_OK(crypto_session_new_outbound(a, claimed, BOB, BOB_DEV,
					     crypto_account_ed25519(b),
					     crypto_account_curve25519(b),
					     &as));

	/* alice shares a room key: olm plaintext, to-device content */
	content = json_pack("{s:s, s:s, s:s, s:s}", "algorithm",
			    CRYPTO_MEGOLM_ALGORITHM, "room_id", ROOM,
			    "session_id", "sid", "session_key", "skey");
	CHECK_OK(crypto_olm_plaintext(a, "m.room_key", content, ALICE,
				      ALICE_DEV, BOB, crypto_account_ed25519(b),
				      &plain));
	CHECK_OK(crypto_olm_encrypt_event(a, as, crypto_account_curve25519(b),
					  plain, &ev));
	CHECK_STR(json_string_value(json_object_get(ev, "algorithm")),
		  CRYPTO_OLM_ALGORITHM);
	CHECK_STR(json_string_value(json_object_get(ev, "sender_key")),
		  crypto_account_curve25519(a));

	/* bob picks his ciphertext */
	CHECK_INT(crypto_olm_ciphertext(ev, crypto_account_curve25519(a), &sk,
					&type, &body),
		  SC_ENOTFOUND);
	CHECK_OK(crypto_olm_ciphertext(ev, crypto_account_curve25519(b), &sk,
				       &type, &body));
	CHECK_STR(sk, crypto_account_curve25519(a));
	CHECK_INT(type, CRYPTO_OLM_PREKEY);

	/* pre-key message → inbound session → decrypt → remove the OTK */
	CHECK_OK(crypto_session_new_inbound(b, sk, body, &bs));
	CHECK_STR(crypto_session_id(bs), crypto_session_id(as));
	CHECK_OK(crypto_session_matches(bs, sk, body, &match));
	CHECK(match);
	CHECK_OK(crypto_session_decrypt(bs, type, body, &text, &len));
	CHECK_OK(crypto_olm_check_plaintext(b, text, len, ALICE, BOB,
					    crypto_account_ed25519(a), &got));
	CHECK_STR(json_string_value(json_object_get(got, "type")),
		  "m.room_key");
	CHECK(json_equal(json_object_get(got, "content"), content));
	json_decref(got);
	crypto_free_secret(text);
	CHECK_OK(crypto_account_remove_otks(b, bs));
	CHECK_INT(crypto_account_remove_otks(b, bs), SC_ENOTFOUND);
	/* the one-time key is gone: the same message cannot start another */
	CHECK_INT(crypto_session_new_inbound(b, sk, body, &bs2), SC_ECRYPTO);

	/* alice has not heard back: still pre-key, and it matches bs */
	m = enc(as, "second", CRYPTO_OLM_PREKEY);
	CHECK_OK(crypto_session_matches(bs, crypto_account_curve25519(a), m,
					&match));
	CHECK(match);
	/* ... but not from another sender key */
	CHECK_OK(crypto_session_matches(bs, crypto_account_curve25519(b), m,
					&match));
	CHECK(!match);
	dec_expect(bs, CRYPTO_OLM_PREKEY, m, "second");
	free(m);

	/* replies are type 1 both ways */
	CHECK(!crypto_session_has_received(as));
	CHECK(crypto_session_has_received(bs));
	for (int i = 0; i < 3; i++) {
		m = enc(bs, "from bob", CRYPTO_OLM_MESSAGE);
		dec_expect(as, CRYPTO_OLM_MESSAGE, m, "from bob");
		free(m);
		m = enc(as, "from alice", CRYPTO_OLM_MESSAGE);
		dec_expect(bs, CRYPTO_OLM_MESSAGE, m, "from alice");
		free(m);
	}
	CHECK(crypto_session_has_received(as));

	json_decref(claimed);
	json_decref(content);
	json_decref(plain);
	json_decref(ev);
	crypto_session_free(as);
	crypto_session_free(bs);
	crypto_account_free(a);
	crypto_account_free(b);
}

/* A message for another session fails with SC_ECRYPTO and leaves the
 * session working: the caller tries the next one. */
static void test_olm_bad_mac_tries_next(void)
{
	struct crypto_account *a = NULL, *b = NULL;
	struct crypto_session *as1 = NULL, *bs1 = NULL, *as2 = NULL,
			      *bs2 = NULL, *s = NULL;
	char *m, *text = NULL;
	size_t len;
	bool match = true;

	CHECK_OK(crypto_account_new(&a));
	CHECK_OK(crypto_account_new(&b));
	make_pair(a, b, &as1, &bs1);
	make_pair(a, b, &as2, &bs2);
	CHECK(strcmp(crypto_session_id(as1), crypto_session_id(as2)) != 0);

	m = enc(bs2, "on the second session", CRYPTO_OLM_MESSAGE);
	CHECK_INT(crypto_session_decrypt(as1, CRYPTO_OLM_MESSAGE, m, &text,
					 &len),
		  SC_ECRYPTO);
	dec_expect(as2, CRYPTO_OLM_MESSAGE, m, "on the second session");
	free(m);
	/* as1 is unharmed */
	m = enc(bs1, "on the first", CRYPTO_OLM_MESSAGE);
	dec_expect(as1, CRYPTO_OLM_MESSAGE, m, "on the first");
	free(m);

	/* a pre-key message of a third session matches neither */
	{
		json_t *claimed = claim_otk(b, BOB, BOB_DEV);
		CHECK_OK(crypto_session_new_outbound(
			a, claimed, BOB, BOB_DEV, crypto_account_ed25519(b),
			crypto_account_curve25519(b), &s));
		json_decref(claimed);
	}
	m = enc(s, "third", CRYPTO_OLM_PREKEY);
	CHECK_OK(crypto_session_matches(bs1, crypto_account_curve25519(a), m,
					&match));
	CHECK(!match);
	CHECK_INT(crypto_session_decrypt(bs1, CRYPTO_OLM_PREKEY, m, &text,
					 &len),
		  SC_ECRYPTO);
	free(m);

	crypto_session_free(s);
	crypto_session_free(as1);
	crypto_session_free(bs1);
	crypto_session_free(as2);
	crypto_session_free(bs2);
	crypto_account_free(a);
	crypto_account_free(b);
}

/* Copy of s with the character at pos changed to another base64 one. */
static char *tamper(const char *s, size_t pos)
{
	char *t = strdup(s);

	CHECK(t && pos < strlen(t));
	t[pos] = t[pos] == 'A' ? 'B' : 'A';
	return t;
}

static void test_olm_garbage(void)
{
	struct crypto_account *a = NULL, *b = NULL;
	struct crypto_session *as = NULL, *bs = NULL, *s = NULL;
	json_t *claimed, *bad, *ev;
	char *m, *t, *text = NULL;
	const char *sk, *body;
	size_t len;
	int type;
	sc_err err;

	CHECK_OK(crypto_account_new(&a));
	CHECK_OK(crypto_account_new(&b));
	make_pair(a, b, &as, &bs);
	m = enc(as, "a message long enough that its middle is ciphertext, "
		    "not header bytes or the MAC",
		CRYPTO_OLM_MESSAGE);

	CHECK_INT(crypto_session_decrypt(bs, 1, "%%% not base64 %%%", &text,
					 &len),
		  SC_EINVAL);
	CHECK_INT(crypto_session_decrypt(bs, 1, "A", &text, &len), SC_EINVAL);
	CHECK_INT(crypto_session_decrypt(bs, 1, "", &text, &len), SC_EINVAL);
	CHECK_INT(crypto_session_decrypt(bs, 7, m, &text, &len), SC_EINVAL);
	/* truncated */
	t = strdup(m);
	t[strlen(t) / 2] = '\0';
	if (strlen(t) % 4 == 1)
		t[strlen(t) - 1] = '\0';
	err = crypto_session_decrypt(bs, 1, t, &text, &len);
	CHECK(err == SC_EINVAL || err == SC_ECRYPTO);
	free(t);
	/* tampered */
	t = tamper(m, strlen(m) / 2);
	CHECK_INT(crypto_session_decrypt(bs, 1, t, &text, &len), SC_ECRYPTO);
	free(t);
	/* and the real one still decrypts */
	dec_expect(bs, 1, m, "a message long enough that its middle is "
			     "ciphertext, not header bytes or the MAC");
	free(m);

	/* inbound sessions from garbage */
	CHECK_INT(crypto_session_new_inbound(b, crypto_account_curve25519(a),
					     "!!!!", &s),
		  SC_EINVAL);
	CHECK_INT(crypto_session_new_inbound(b, "shortkey", "AAAA", &s),
		  SC_EINVAL);
	CHECK_INT(crypto_session_new_inbound(b, crypto_account_curve25519(a),
					     "AwogKa2ABIwDK0q91Mn", &s),
		  SC_EINVAL);

	/* claimed keys that must not be used */
	claimed = claim_otk(b, BOB, BOB_DEV);
	CHECK_INT(crypto_session_new_outbound(a, claimed, BOB, BOB_DEV,
					      crypto_account_ed25519(a),
					      crypto_account_curve25519(b), &s),
		  SC_ECRYPTO); /* signature checked against the wrong device */
	CHECK_INT(crypto_session_new_outbound(a, claimed, BOB, "OTHERDEV",
					      crypto_account_ed25519(b),
					      crypto_account_curve25519(b), &s),
		  SC_ENOTFOUND); /* not signed by that device */
	bad = json_deep_copy(claimed);
	json_object_set_new(bad, "key",
			    json_string(crypto_account_curve25519(a)));
	CHECK_INT(crypto_session_new_outbound(a, bad, BOB, BOB_DEV,
					      crypto_account_ed25519(b),
					      crypto_account_curve25519(b), &s),
		  SC_ECRYPTO); /* key swapped under the signature */
	json_object_set_new(bad, "key", json_string("AAAA"));
	CHECK_INT(crypto_session_new_outbound(a, bad, BOB, BOB_DEV,
					      crypto_account_ed25519(b),
					      crypto_account_curve25519(b), &s),
		  SC_EINVAL);
	json_decref(bad);
	bad = json_string("not an object");
	CHECK_INT(crypto_session_new_outbound(a, bad, BOB, BOB_DEV,
					      crypto_account_ed25519(b),
					      crypto_account_curve25519(b), &s),
		  SC_EINVAL);
	json_decref(bad);
	CHECK_INT(crypto_session_new_outbound(a, claimed, BOB, BOB_DEV,
					      crypto_account_ed25519(b),
					      "bad curve key", &s),
		  SC_EINVAL);
	json_decref(claimed);

	/* to-device contents of the wrong shape */
	ev = json_pack("{s:s, s:s, s:{s:{s:i, s:s}}}", "algorithm",
		       "m.olm.v2.made-up", "sender_key",
		       crypto_account_curve25519(a), "ciphertext",
		       crypto_account_curve25519(b), "type", 0, "body", "AAAA");
	CHECK_INT(crypto_olm_ciphertext(ev, crypto_account_curve25519(b), &sk,
					&type, &body),
		  SC_EINVAL);
	json_object_set_new(ev, "algorithm", json_string(CRYPTO_OLM_ALGORITHM));
	CHECK_OK(crypto_olm_ciphertext(ev, crypto_account_curve25519(b), &sk,
				       &type, &body));
	json_object_set_new(json_object_get(json_object_get(ev, "ciphertext"),
					    crypto_account_curve25519(b)),
			    "type", json_integer(2));
	CHECK_INT(crypto_olm_ciphertext(ev, crypto_account_curve25519(b), &sk,
					&type, &body),
		  SC_EINVAL);
	json_object_set_new(json_object_get(json_object_get(ev, "ciphertext"),
					    crypto_account_curve25519(b)),
			    "type", json_string("0"));
	CHECK_INT(crypto_olm_ciphertext(ev, crypto_account_curve25519(b), &sk,
					&type, &body),
		  SC_EINVAL);
	json_object_set_new(ev, "ciphertext", json_string("flat"));
	CHECK_INT(crypto_olm_ciphertext(ev, crypto_account_curve25519(b), &sk,
					&type, &body),
		  SC_EINVAL);
	json_object_set_new(ev, "sender_key", json_string("bad"));
	CHECK_INT(crypto_olm_ciphertext(ev, crypto_account_curve25519(b), &sk,
					&type, &body),
		  SC_EINVAL);
	json_decref(ev);

	crypto_session_free(as);
	crypto_session_free(bs);
	crypto_account_free(a);
	crypto_account_free(b);
}

/* The real nio to-device and room contents (fixtures 45, 47) parse. */
static void test_nio_contents_parse(void)
{
	json_error_t jerr;
	json_t *td, *room;
	const char *sk = NULL, *body = NULL, *sid = NULL, *ct = NULL;
	int type = -1;

	td = json_loads(
		"{\"algorithm\": \"m.olm.v1.curve25519-aes-sha2\","
		" \"sender_key\": \"" NIO_ALICE_CURVE "\", \"ciphertext\":"
		" {\"" NIO_BOB_CURVE "\": {\"type\": 0, \"body\":"
		" \"AwogKa2ABIwDK0q91Mn+wKguPgiuSHu+uMz3Lfis1/4nNR8SIIVn0TS70P"
		"kQM5reLo535dTs5yJBke5zsMWQcxgsovEbGiD15aaT++g/oqtvcr3Cjvo7v4"
		"7\"}}}", 0, &jerr);
	CHECK(td != NULL);
	CHECK_OK(crypto_olm_ciphertext(td, NIO_BOB_CURVE, &sk, &type, &body));
	CHECK_STR(sk, NIO_ALICE_CURVE);
	CHECK_INT(type, CRYPTO_OLM_PREKEY);
	CHECK(strncmp(body, "AwogKa2A", 8) == 0);
	json_decref(td);

	room = json_loads(
		"{\"algorithm\": \"m.megolm.v1.aes-sha2\", \"sender_key\": \""
		NIO_ALICE_CURVE "\", \"ciphertext\": \"AwgAEsABio16p6RNjwW7R+IJ"
		"P2qhH99WGpcuE0JD7Mf38YaILiCSBZ3dFYCHbUHtmTaopTeEpJv2bA1c0ih"
		"v\", \"session_id\":"
		" \"KwsiMb9TCminqnfV27I3zucla4iIb/zr6+3tCJBSQkU\","
		" \"device_id\": \"IWWYKIDQNR\"}", 0, &jerr);
	CHECK(room != NULL);
	CHECK_OK(crypto_megolm_ciphertext(room, &sid, &sk, &ct));
	CHECK_STR(sid, "KwsiMb9TCminqnfV27I3zucla4iIb/zr6+3tCJBSQkU");
	CHECK_STR(sk, NIO_ALICE_CURVE);
	CHECK(strncmp(ct, "AwgAEsAB", 8) == 0);
	json_object_del(room, "sender_key"); /* optional */
	CHECK_OK(crypto_megolm_ciphertext(room, &sid, &sk, &ct));
	CHECK(sk == NULL);
	json_object_set_new(room, "algorithm", json_string("m.megolm.v2"));
	CHECK_INT(crypto_megolm_ciphertext(room, &sid, &sk, &ct), SC_EINVAL);
	json_decref(room);
}

/* Forged olm plaintexts are refused. */
static void test_forged_olm_plaintext(void)
{
	struct crypto_account *a = NULL, *b = NULL, *mal = NULL;
	struct crypto_session *ms = NULL, *bs = NULL;
	json_t *content = json_object(), *plain = NULL, *got = NULL, *claimed;
	char *text, *body = NULL;
	const char *aed, *bed, *lit;
	size_t len;

	CHECK_OK(crypto_account_new(&a));
	CHECK_OK(crypto_account_new(&b));
	CHECK_OK(crypto_account_new(&mal));
	aed = crypto_account_ed25519(a);
	bed = crypto_account_ed25519(b);

	CHECK_OK(crypto_olm_plaintext(a, "m.dummy", content, ALICE, ALICE_DEV,
				      BOB, bed, &plain));
	text = json_dumps(plain, JSON_COMPACT);
	len = strlen(text);
	CHECK_OK(crypto_olm_check_plaintext(b, text, len, ALICE, BOB, aed,
					    &got));
	json_decref(got);
	/* the sending device is not known yet: accepted, key unchecked */
	CHECK_OK(crypto_olm_check_plaintext(b, text, len, ALICE, BOB, NULL,
					    &got));
	json_decref(got);
	/* event sender differs from the plaintext's */
	CHECK_INT(crypto_olm_check_plaintext(b, text, len, MALLORY, BOB, aed,
					     &got),
		  SC_ECRYPTO);
	/* meant for another user */
	CHECK_INT(crypto_olm_check_plaintext(b, text, len, ALICE, MALLORY, aed,
					     &got),
		  SC_ECRYPTO);
	/* meant for another device of ours (recipient_keys mismatch) */
	CHECK_INT(crypto_olm_check_plaintext(mal, text, len, ALICE, BOB, aed,
					     &got),
		  SC_ECRYPTO);
	/* claims a device key that is not the sender's */
	CHECK_INT(crypto_olm_check_plaintext(b, text, len, ALICE, BOB,
					     crypto_account_ed25519(mal), &got),
		  SC_ECRYPTO);
	free(text);
	json_decref(plain);

	/* shape errors */
	CHECK_INT(crypto_olm_check_plaintext(b, "not json", 8, ALICE, BOB, aed,
					     &got),
		  SC_EINVAL);
	lit = "{\"type\":\"m.dummy\",\"content\":{},\"sender\":\"x\"}";
	CHECK_INT(crypto_olm_check_plaintext(b, lit, strlen(lit), ALICE, BOB,
					     aed, &got),
		  SC_EINVAL);
	lit = "{\"type\":\"m.dummy\",\"type\":\"m.room_key\",\"content\":{}}";
	CHECK_INT(crypto_olm_check_plaintext(b, lit, strlen(lit), ALICE, BOB,
					     aed, &got),
		  SC_EINVAL);

	/* mallory, with a real olm session to bob, pretends to be alice */
	claimed = claim_otk(b, BOB, BOB_DEV);
	CHECK_OK(crypto_session_new_outbound(mal, claimed, BOB, BOB_DEV, bed,
					     crypto_account_curve25519(b),
					     &ms));
	json_decref(claimed);
	CHECK_OK(crypto_olm_plaintext(mal, "m.room_key", content, ALICE,
				      ALICE_DEV, BOB, bed, &plain));
	json_object_set_new(json_object_get(plain, "keys"), "ed25519",
			    json_string(aed));
	text = json_dumps(plain, JSON_COMPACT);
	body = enc(ms, text, CRYPTO_OLM_PREKEY);
	free(text);
	json_decref(plain);
	CHECK_OK(crypto_session_new_inbound(b, crypto_account_curve25519(mal),
					    body, &bs));
	CHECK_OK(crypto_session_decrypt(bs, CRYPTO_OLM_PREKEY, body, &text,
					&len));
	/* the to-device event's sender is mallory: refused */
	CHECK_INT(crypto_olm_check_plaintext(b, text, len, MALLORY, BOB,
					     crypto_account_ed25519(mal), &got),
		  SC_ECRYPTO);
	crypto_free_secret(text);
	free(body);

	json_decref(content);
	crypto_session_free(ms);
	crypto_session_free(bs);
	crypto_account_free(a);
	crypto_account_free(b);
	crypto_account_free(mal);
}

static void test_wrong_pickle_key_refused(void)
{
	struct crypto_account *a = NULL, *b = NULL, *a2 = NULL;
	struct crypto_session *as = NULL, *bs = NULL, *s2 = NULL;
	struct crypto_gout *go = NULL, *go2 = NULL;
	struct crypto_gin *gi = NULL, *gi2 = NULL;
	struct crypto_xsign *x = NULL, *x2 = NULL;
	char *p = NULL, *gk = NULL;

	init_keys();
	CHECK_OK(crypto_account_new(&a));
	CHECK_OK(crypto_account_new(&b));
	CHECK_OK(crypto_account_pickle(a, pkey1, sizeof(pkey1), &p));
	CHECK_INT(crypto_account_unpickle(p, pkey2, sizeof(pkey2), &a2),
		  SC_EAUTH);
	CHECK(a2 == NULL);
	CHECK_INT(crypto_account_unpickle(p, pkey1, 16, &a2), SC_EINVAL);
	CHECK_INT(crypto_account_pickle(a, pkey1, 8, &p), SC_EINVAL);
	CHECK_INT(crypto_account_unpickle("!!garbage!!", pkey1, sizeof(pkey1),
					  &a2),
		  SC_EINVAL);
	p[strlen(p) / 2] = '\0'; /* truncated */
	CHECK(crypto_account_unpickle(p, pkey1, sizeof(pkey1), &a2) != SC_OK);
	free(p);

	make_pair(a, b, &as, &bs);
	CHECK_OK(crypto_session_pickle(as, pkey1, sizeof(pkey1), &p));
	CHECK_INT(crypto_session_unpickle(p, pkey2, sizeof(pkey2), &s2),
		  SC_EAUTH);
	free(p);

	CHECK_OK(crypto_gout_new(&go));
	CHECK_OK(crypto_gout_pickle(go, pkey1, sizeof(pkey1), &p));
	CHECK_INT(crypto_gout_unpickle(p, pkey2, sizeof(pkey2), &go2),
		  SC_EAUTH);
	free(p);

	CHECK_OK(crypto_gout_key(go, &gk));
	CHECK_OK(crypto_gin_new(gk, NULL, &gi));
	crypto_free_secret(gk);
	CHECK_OK(crypto_gin_pickle(gi, pkey1, sizeof(pkey1), &p));
	CHECK_INT(crypto_gin_unpickle(p, pkey2, sizeof(pkey2), &gi2), SC_EAUTH);
	free(p);

	CHECK_OK(crypto_xsign_new(&x));
	CHECK_OK(crypto_xsign_pickle(x, pkey1, sizeof(pkey1), &p));
	CHECK(strncmp(p, "xs1:", 4) == 0);
	CHECK_INT(crypto_xsign_unpickle(p, pkey2, sizeof(pkey2), &x2),
		  SC_EAUTH);
	CHECK_INT(crypto_xsign_unpickle(p + 4, pkey1, sizeof(pkey1), &x2),
		  SC_EINVAL);
	CHECK_INT(crypto_xsign_unpickle("xs1:AAAA", pkey1, sizeof(pkey1), &x2),
		  SC_EINVAL);
	free(p);

	crypto_xsign_free(x);
	crypto_gin_free(gi);
	crypto_gout_free(go);
	crypto_session_free(as);
	crypto_session_free(bs);
	crypto_account_free(a);
	crypto_account_free(b);
}

/* Every object survives pickle → free → unpickle and keeps working. */
static void test_pickle_round_trip(void)
{
	struct crypto_account *a = NULL, *b = NULL;
	struct crypto_session *as = NULL, *bs = NULL, *stmp = NULL;
	struct crypto_session *late = NULL;
	struct crypto_gout *go = NULL, *gotmp = NULL;
	struct crypto_gin *gi = NULL, *gitmp = NULL;
	struct crypto_xsign *x = NULL, *xtmp = NULL;
	json_t *dk = NULL, *dk2 = NULL, *claimed, *body = NULL;
	char *p = NULL, *gk = NULL, *ct0 = NULL, *ct1 = NULL, *m, *text = NULL;
	char ed[64], curve[64], sid[64];
	size_t n = 0, len;
	uint32_t idx;

	init_keys();
	CHECK_OK(crypto_account_new(&a));
	CHECK_OK(crypto_account_new(&b));

	/* account, with unpublished keys */
	CHECK_OK(crypto_account_generate_otks(a, 3, 0, &n));
	CHECK_OK(crypto_account_device_keys(a, ALICE, ALICE_DEV, &dk));
	snprintf(ed, sizeof(ed), "%s", crypto_account_ed25519(a));
	snprintf(curve, sizeof(curve), "%s", crypto_account_curve25519(a));
	CHECK_OK(crypto_account_pickle(a, pkey1, sizeof(pkey1), &p));
	crypto_account_free(a);
	a = NULL;
	CHECK_OK(crypto_account_unpickle(p, pkey1, sizeof(pkey1), &a));
	free(p);
	CHECK_STR(crypto_account_ed25519(a), ed);
	CHECK_STR(crypto_account_curve25519(a), curve);
	CHECK_OK(crypto_account_unpublished_count(a, &n));
	CHECK_INT(n, 3);
	CHECK_OK(crypto_account_device_keys(a, ALICE, ALICE_DEV, &dk2));
	CHECK(json_equal(dk, dk2));
	json_decref(dk);
	json_decref(dk2);

	/* bob restarts between the claim of his key and the pre-key
	 * message: the restored account still has the private key */
	claimed = claim_otk(b, BOB, BOB_DEV);
	CHECK_OK(crypto_account_pickle(b, pkey1, sizeof(pkey1), &p));
	crypto_account_free(b);
	b = NULL;
	CHECK_OK(crypto_account_unpickle(p, pkey1, sizeof(pkey1), &b));
	free(p);
	CHECK_OK(crypto_session_new_outbound(a, claimed, BOB, BOB_DEV,
					     crypto_account_ed25519(b),
					     crypto_account_curve25519(b),
					     &late));
	json_decref(claimed);
	m = enc(late, "after a restart", CRYPTO_OLM_PREKEY);
	CHECK_OK(crypto_session_new_inbound(b, curve, m, &stmp));
	dec_expect(stmp, CRYPTO_OLM_PREKEY, m, "after a restart");
	free(m);
	crypto_session_free(stmp);
	stmp = NULL;
	crypto_session_free(late);

	/* both ends of an olm session */
	make_pair(a, b, &as, &bs);
	snprintf(sid, sizeof(sid), "%s", crypto_session_id(as));
	CHECK_OK(crypto_session_pickle(as, pkey1, sizeof(pkey1), &p));
	crypto_session_free(as);
	as = NULL;
	CHECK_OK(crypto_session_unpickle(p, pkey1, sizeof(pkey1), &as));
	free(p);
	CHECK_OK(crypto_session_pickle(bs, pkey1, sizeof(pkey1), &p));
	crypto_session_free(bs);
	bs = NULL;
	CHECK_OK(crypto_session_unpickle(p, pkey1, sizeof(pkey1), &bs));
	free(p);
	CHECK_STR(crypto_session_id(as), sid);
	CHECK_STR(crypto_session_id(bs), sid);
	CHECK(crypto_session_has_received(as));
	m = enc(as, "still here", CRYPTO_OLM_MESSAGE);
	dec_expect(bs, CRYPTO_OLM_MESSAGE, m, "still here");
	free(m);
	m = enc(bs, "me too", CRYPTO_OLM_MESSAGE);
	dec_expect(as, CRYPTO_OLM_MESSAGE, m, "me too");
	free(m);

	/* megolm outbound: the index survives */
	CHECK_OK(crypto_gout_new(&go));
	CHECK_OK(crypto_gout_key(go, &gk));
	CHECK_OK(crypto_gin_new(gk, crypto_gout_id(go), &gi));
	crypto_free_secret(gk);
	CHECK_OK(crypto_gout_encrypt(go, "zero", 4, &ct0));
	snprintf(sid, sizeof(sid), "%s", crypto_gout_id(go));
	CHECK_OK(crypto_gout_pickle(go, pkey1, sizeof(pkey1), &p));
	crypto_gout_free(go);
	go = NULL;
	CHECK_OK(crypto_gout_unpickle(p, pkey1, sizeof(pkey1), &gotmp));
	go = gotmp;
	free(p);
	CHECK_STR(crypto_gout_id(go), sid);
	CHECK_INT(crypto_gout_index(go), 1);
	CHECK_OK(crypto_gout_encrypt(go, "one", 3, &ct1));

	/* megolm inbound */
	CHECK_OK(crypto_gin_pickle(gi, pkey1, sizeof(pkey1), &p));
	crypto_gin_free(gi);
	gi = NULL;
	CHECK_OK(crypto_gin_unpickle(p, pkey1, sizeof(pkey1), &gitmp));
	gi = gitmp;
	free(p);
	CHECK_STR(crypto_gin_id(gi), sid);
	CHECK_INT(crypto_gin_first_index(gi), 0);
	CHECK_OK(crypto_gin_decrypt(gi, ct0, &text, &len, &idx));
	CHECK_STR(text, "zero");
	CHECK_INT(idx, 0);
	crypto_free_secret(text);
	CHECK_OK(crypto_gin_decrypt(gi, ct1, &text, &len, &idx));
	CHECK_STR(text, "one");
	CHECK_INT(idx, 1);
	crypto_free_secret(text);

	/* cross-signing keys */
	CHECK_OK(crypto_xsign_new(&x));
	CHECK_OK(crypto_xsign_pickle(x, pkey1, sizeof(pkey1), &p));
	CHECK_OK(crypto_xsign_unpickle(p, pkey1, sizeof(pkey1), &xtmp));
	free(p);
	CHECK_STR(crypto_xsign_master(xtmp), crypto_xsign_master(x));
	CHECK_STR(crypto_xsign_self_signing(xtmp),
		  crypto_xsign_self_signing(x));
	CHECK(strcmp(crypto_xsign_master(x),
		     crypto_xsign_self_signing(x)) != 0);
	CHECK_OK(crypto_xsign_upload_body(xtmp, ALICE, &body));
	{
		char *mk = key_id("ed25519", crypto_xsign_master(x));
		CHECK_OK(crypto_verify_signed_json(
			json_object_get(body, "self_signing_key"), ALICE, mk,
			crypto_xsign_master(x)));
		free(mk);
	}
	json_decref(body);

	free(ct0);
	free(ct1);
	crypto_xsign_free(x);
	crypto_xsign_free(xtmp);
	crypto_gin_free(gi);
	crypto_gout_free(go);
	crypto_session_free(as);
	crypto_session_free(bs);
	crypto_account_free(a);
	crypto_account_free(b);
}

static void test_megolm(void)
{
	struct crypto_gout *go = NULL, *other = NULL;
	struct crypto_gin *gi = NULL, *late = NULL, *imp = NULL, *bad = NULL;
	char *key0 = NULL, *key2 = NULL, *ct[3], *oct = NULL, *text = NULL, *t,
	     *exp = NULL;
	const char *msgs[3] = { "first", "second", "third" };
	size_t len;
	uint32_t idx;
	sc_err err;

	CHECK_OK(crypto_gout_new(&go));
	CHECK_INT(strlen(crypto_gout_id(go)), 43);
	CHECK_INT(crypto_gout_index(go), 0);
	CHECK_OK(crypto_gout_key(go, &key0));
	CHECK_OK(crypto_gin_new(key0, crypto_gout_id(go), &gi));
	CHECK_STR(crypto_gin_id(gi), crypto_gout_id(go));
	CHECK_INT(crypto_gin_first_index(gi), 0);

	for (int i = 0; i < 3; i++) {
		if (i == 2)
			CHECK_OK(crypto_gout_key(go, &key2));
		CHECK_INT(crypto_gout_index(go), i);
		CHECK_OK(crypto_gout_encrypt(go, msgs[i], strlen(msgs[i]),
					     &ct[i]));
	}
	CHECK_INT(crypto_gout_index(go), 3);
	for (int i = 0; i < 3; i++) {
		CHECK_OK(crypto_gin_decrypt(gi, ct[i], &text, &len, &idx));
		CHECK_STR(text, msgs[i]);
		CHECK_INT(len, strlen(msgs[i]));
		CHECK_INT(idx, i);
		crypto_free_secret(text);
	}

	/* a session key shared late knows only the later messages */
	CHECK_OK(crypto_gin_new(key2, crypto_gout_id(go), &late));
	CHECK_INT(crypto_gin_first_index(late), 2);
	CHECK_INT(crypto_gin_decrypt(late, ct[0], &text, &len, &idx),
		  SC_ENOTFOUND);
	CHECK_INT(crypto_gin_decrypt(late, ct[1], &text, &len, &idx),
		  SC_ENOTFOUND);
	CHECK_OK(crypto_gin_decrypt(late, ct[2], &text, &len, &idx));
	CHECK_INT(idx, 2);
	crypto_free_secret(text);

	/* export/import at the first known index */
	CHECK_INT(crypto_gin_export(late, 0, &exp), SC_ENOTFOUND);
	CHECK_OK(crypto_gin_export(gi, 1, &exp));
	CHECK_OK(crypto_gin_import(exp, crypto_gout_id(go), &imp));
	crypto_free_secret(exp);
	CHECK_INT(crypto_gin_first_index(imp), 1);
	CHECK_INT(crypto_gin_decrypt(imp, ct[0], &text, &len, &idx),
		  SC_ENOTFOUND);
	CHECK_OK(crypto_gin_decrypt(imp, ct[1], &text, &len, &idx));
	CHECK_STR(text, "second");
	crypto_free_secret(text);

	/* keys that are not what they claim to be */
	CHECK_INT(crypto_gin_new(key0, "someothersessionid", &bad), SC_ECRYPTO);
	CHECK_INT(crypto_gin_new("%%%", NULL, &bad), SC_EINVAL);
	CHECK_INT(crypto_gin_new("AAAA", NULL, &bad), SC_EINVAL);
	CHECK_INT(crypto_gin_import(key0, NULL, &bad), SC_EINVAL);
	CHECK(bad == NULL);

	/* garbage, truncated, tampered, foreign ciphertexts */
	CHECK_INT(crypto_gin_decrypt(gi, "not base64!", &text, &len, &idx),
		  SC_EINVAL);
	CHECK_INT(crypto_gin_decrypt(gi, "", &text, &len, &idx), SC_EINVAL);
	t = strdup(ct[0]);
	t[20] = '\0';
	err = crypto_gin_decrypt(gi, t, &text, &len, &idx);
	CHECK(err == SC_EINVAL || err == SC_ECRYPTO);
	free(t);
	t = strdup(ct[0]);
	t[strlen(t) - 10] = '\0';
	err = crypto_gin_decrypt(gi, t, &text, &len, &idx);
	CHECK(err == SC_EINVAL || err == SC_ECRYPTO);
	free(t);
	t = tamper(ct[1], strlen(ct[1]) / 2);
	CHECK_INT(crypto_gin_decrypt(gi, t, &text, &len, &idx), SC_ECRYPTO);
	free(t);
	CHECK_OK(crypto_gout_new(&other));
	CHECK_OK(crypto_gout_encrypt(other, "first", 5, &oct));
	CHECK_INT(crypto_gin_decrypt(gi, oct, &text, &len, &idx), SC_ECRYPTO);
	free(oct);
	/* nothing broke */
	CHECK_OK(crypto_gin_decrypt(gi, ct[1], &text, &len, &idx));
	CHECK_STR(text, "second");
	crypto_free_secret(text);

	for (int i = 0; i < 3; i++)
		free(ct[i]);
	crypto_free_secret(key0);
	crypto_free_secret(key2);
	crypto_gout_free(other);
	crypto_gout_free(go);
	crypto_gin_free(gi);
	crypto_gin_free(late);
	crypto_gin_free(imp);
}

/* The whole path: room key over olm, then a room message over megolm. */
static void test_megolm_events(void)
{
	struct crypto_account *a = NULL, *b = NULL;
	struct crypto_session *as = NULL, *bs = NULL;
	struct crypto_gout *go = NULL;
	struct crypto_gin *gi = NULL;
	json_t *rk = NULL, *plain = NULL, *ev = NULL, *got = NULL, *content,
	       *enc_ev = NULL, *copy;
	const char *sk, *body;
	char *text = NULL;
	size_t len;
	int type;
	uint32_t idx;

	CHECK_OK(crypto_account_new(&a));
	CHECK_OK(crypto_account_new(&b));
	make_pair(a, b, &as, &bs);
	CHECK_OK(crypto_gout_new(&go));

	/* alice: m.room_key to bob's device, before the first encrypt */
	CHECK_OK(crypto_room_key_content(go, ROOM, &rk));
	CHECK_STR(json_string_value(json_object_get(rk, "algorithm")),
		  CRYPTO_MEGOLM_ALGORITHM);
	CHECK_STR(json_string_value(json_object_get(rk, "room_id")), ROOM);
	CHECK_STR(json_string_value(json_object_get(rk, "session_id")),
		  crypto_gout_id(go));
	CHECK_OK(crypto_olm_plaintext(a, "m.room_key", rk, ALICE, ALICE_DEV,
				      BOB, crypto_account_ed25519(b), &plain));
	CHECK_OK(crypto_olm_encrypt_event(a, as, crypto_account_curve25519(b),
					  plain, &ev));

	/* alice: a reply in the room */
	content = json_pack("{s:s, s:s, s:{s:{s:s}}}", "msgtype", "m.text",
			    "body", "hi", "m.relates_to", "m.in_reply_to",
			    "event_id", "$orig");
	CHECK_OK(crypto_megolm_encrypt_event(go, a, ALICE_DEV, ROOM,
					     "m.room.message", content,
					     &enc_ev));
	CHECK_STR(json_string_value(json_object_get(enc_ev, "algorithm")),
		  CRYPTO_MEGOLM_ALGORITHM);
	CHECK_STR(json_string_value(json_object_get(enc_ev, "sender_key")),
		  crypto_account_curve25519(a));
	CHECK_STR(json_string_value(json_object_get(enc_ev, "device_id")),
		  ALICE_DEV);
	CHECK_STR(json_string_value(json_object_get(enc_ev, "session_id")),
		  crypto_gout_id(go));
	CHECK(json_is_string(json_object_get(enc_ev, "ciphertext")));
	CHECK(json_equal(json_object_get(enc_ev, "m.relates_to"),
			 json_object_get(content, "m.relates_to")));
	CHECK(json_object_get(enc_ev, "body") == NULL);

	/* bob: to-device first, then the room */
	CHECK_OK(crypto_olm_ciphertext(ev, crypto_account_curve25519(b), &sk,
				       &type, &body));
	CHECK_INT(type, CRYPTO_OLM_MESSAGE);
	CHECK_OK(crypto_session_decrypt(bs, type, body, &text, &len));
	CHECK_OK(crypto_olm_check_plaintext(b, text, len, ALICE, BOB,
					    crypto_account_ed25519(a), &got));
	crypto_free_secret(text);
	CHECK_OK(crypto_gin_new(
		json_string_value(json_object_get(
			json_object_get(got, "content"), "session_key")),
		json_string_value(json_object_get(
			json_object_get(got, "content"), "session_id")),
		&gi));
	json_decref(got);
	got = NULL;
	CHECK_OK(crypto_megolm_decrypt_event(gi, ROOM, enc_ev, &got, &idx));
	CHECK_INT(idx, 0);
	CHECK_STR(json_string_value(json_object_get(got, "type")),
		  "m.room.message");
	CHECK_STR(json_string_value(json_object_get(got, "room_id")), ROOM);
	CHECK(json_equal(json_object_get(got, "content"), content));
	json_decref(got);

	/* replayed into another room */
	CHECK_INT(crypto_megolm_decrypt_event(gi, "!other:localhost", enc_ev,
					      &got, &idx),
		  SC_ECRYPTO);
	/* given to the wrong session */
	copy = json_deep_copy(enc_ev);
	json_object_set_new(copy, "session_id", json_string("nope"));
	CHECK_INT(crypto_megolm_decrypt_event(gi, ROOM, copy, &got, &idx),
		  SC_ECRYPTO);
	/* unknown algorithm */
	json_object_set_new(copy, "algorithm", json_string("m.unknown"));
	CHECK_INT(crypto_megolm_decrypt_event(gi, ROOM, copy, &got, &idx),
		  SC_EINVAL);
	json_decref(copy);
	/* no ciphertext */
	copy = json_deep_copy(enc_ev);
	json_object_del(copy, "ciphertext");
	CHECK_INT(crypto_megolm_decrypt_event(gi, ROOM, copy, &got, &idx),
		  SC_EINVAL);
	json_decref(copy);

	/* a message without relation gets none in the clear */
	json_decref(enc_ev);
	json_object_del(content, "m.relates_to");
	CHECK_OK(crypto_megolm_encrypt_event(go, a, ALICE_DEV, ROOM,
					     "m.room.message", content,
					     &enc_ev));
	CHECK(json_object_get(enc_ev, "m.relates_to") == NULL);
	CHECK_OK(crypto_megolm_decrypt_event(gi, ROOM, enc_ev, &got, &idx));
	CHECK_INT(idx, 1);
	json_decref(got);

	json_decref(content);
	json_decref(enc_ev);
	json_decref(rk);
	json_decref(plain);
	json_decref(ev);
	crypto_gin_free(gi);
	crypto_gout_free(go);
	crypto_session_free(as);
	crypto_session_free(bs);
	crypto_account_free(a);
	crypto_account_free(b);
}

static void test_cross_signing(void)
{
	struct crypto_account *a = NULL;
	struct crypto_xsign *x = NULL, *y = NULL;
	json_t *body = NULL, *mk, *ssk, *dk = NULL, *sigs = NULL, *signed_dev;
	char *mkid, *sskid;
	const char *m, *s;

	CHECK_OK(crypto_account_new(&a));
	CHECK_OK(crypto_xsign_new(&x));
	CHECK_OK(crypto_xsign_new(&y));
	m = crypto_xsign_master(x);
	s = crypto_xsign_self_signing(x);
	CHECK_INT(strlen(m), 43);
	CHECK_INT(strlen(s), 43);
	CHECK(strcmp(m, crypto_xsign_master(y)) != 0);
	mkid = key_id("ed25519", m);
	sskid = key_id("ed25519", s);

	/* POST /keys/device_signing/upload */
	CHECK_OK(crypto_xsign_upload_body(x, ALICE, &body));
	mk = json_object_get(body, "master_key");
	ssk = json_object_get(body, "self_signing_key");
	CHECK_STR(json_string_value(json_object_get(mk, "user_id")), ALICE);
	CHECK_STR(json_string_value(json_array_get(json_object_get(mk, "usage"),
						   0)),
		  "master");
	CHECK_STR(json_string_value(json_object_get(json_object_get(mk, "keys"),
						    mkid)),
		  m);
	CHECK_STR(json_string_value(json_array_get(
			  json_object_get(ssk, "usage"), 0)),
		  "self_signing");
	CHECK_STR(json_string_value(
			  json_object_get(json_object_get(ssk, "keys"), sskid)),
		  s);
	CHECK_OK(crypto_verify_signed_json(ssk, ALICE, mkid, m));
	CHECK_INT(crypto_verify_signed_json(ssk, ALICE, mkid,
					    crypto_xsign_master(y)),
		  SC_ECRYPTO);

	/* POST /keys/signatures/upload: our device, signed by the SSK */
	CHECK_OK(crypto_account_device_keys(a, ALICE, ALICE_DEV, &dk));
	json_object_set_new(dk, "unsigned",
			    json_pack("{s:s}", "device_display_name", "x"));
	CHECK_OK(crypto_xsign_sign_device(x, dk, &sigs));
	signed_dev = json_object_get(json_object_get(sigs, ALICE), ALICE_DEV);
	CHECK(signed_dev != NULL);
	CHECK(json_object_get(signed_dev, "unsigned") == NULL);
	CHECK_OK(crypto_verify_signed_json(signed_dev, ALICE, sskid, s));
	CHECK_OK(crypto_verify_signed_json(signed_dev, ALICE,
					   "ed25519:" ALICE_DEV,
					   crypto_account_ed25519(a)));
	/* the caller's object is untouched */
	CHECK_INT(json_object_size(json_object_get(
			  json_object_get(dk, "signatures"), ALICE)),
		  1);
	CHECK(json_object_get(dk, "unsigned") != NULL);
	/* it signs the device as it was uploaded, nothing else */
	json_object_del(dk, "unsigned");
	json_object_del(signed_dev, "signatures");
	json_object_del(dk, "signatures");
	CHECK(json_equal(dk, signed_dev));
	CHECK_INT(crypto_xsign_sign_device(x, json_object_get(dk, "keys"),
					   &sigs),
		  SC_EINVAL);

	free(mkid);
	free(sskid);
	json_decref(body);
	json_decref(dk);
	json_decref(sigs);
	crypto_xsign_free(x);
	crypto_xsign_free(y);
	crypto_account_free(a);
}

/* The failure paths below log on purpose (to stderr). */
static void test_setup(void)
{
	init_keys();
	CHECK(memcmp(pkey1, pkey2, sizeof(pkey1)) != 0);
}

TESTS(TEST(test_setup), TEST(test_device_keys_signed),
      TEST(test_otk_and_fallback_signed), TEST(test_nio_signed_keys_verify),
      TEST(test_otk_cap), TEST(test_olm_prekey_and_replies),
      TEST(test_olm_bad_mac_tries_next), TEST(test_olm_garbage),
      TEST(test_nio_contents_parse), TEST(test_forged_olm_plaintext),
      TEST(test_wrong_pickle_key_refused), TEST(test_pickle_round_trip),
      TEST(test_megolm), TEST(test_megolm_events), TEST(test_cross_signing))
