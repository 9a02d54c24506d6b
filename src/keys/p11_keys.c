/*-------------------------------------------------------------------------
 *
 * p11_keys.c
 *	  The PKCS#11 bridge's secp256k1 keys: the handle cache, looking a key
 *	  up by CKA_ID, generating and importing key pairs, and ECDSA signing.
 *
 * Keys never leave the token: generated keys are made there, imported ones
 * become sensitive and non-extractable, and only their CKA_ID and public
 * key come back.  The module, session and error messages are p11.c's.
 *
 * Plain C99 with no PostgreSQL headers: see p11.h.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "p11_internal.h"
#include "crypto/hex.h"

/* DER of the named curve OID 1.3.132.0.10 (secp256k1), for CKA_EC_PARAMS */
static const CK_BYTE secp256k1_params[] =
{0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x0A};

/* the group order n, big-endian: private scalars must be in [1, n-1] */
static const uint8_t secp256k1_order[32] =
{
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
	0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B,
	0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41
};

/*
 * Room for any EC signature (P-521 is 132 bytes), so that signing with a
 * key of the wrong size still ends the operation and we can say what came
 * back instead of leaving the session with an active sign operation.
 */
#define SIG_BUF_LEN		256
/* a DER-wrapped uncompressed point is 67 bytes; leave room for odd ones */
#define EC_POINT_BUF_LEN 160

/* ----------------------------------------------------------- key ids */

static bool
id_ok(const uint8_t *id, size_t id_len)
{
	return id != NULL && id_len > 0 && id_len <= TPW_P11_MAX_ID_LEN;
}

/* ------------------------------------------------------ handle cache */

static key_slot *
cache_get(tpw_p11 *p, const uint8_t *id, size_t id_len)
{
	int			i;

	for (i = 0; i < TPW_P11_CACHE_SIZE; i++)
	{
		key_slot   *s = &p->cache[i];

		if (s->id_len == id_len && memcmp(s->id, id, id_len) == 0)
		{
			s->last_use = ++p->clock;
			return s;
		}
	}
	return NULL;
}

static void
cache_put(tpw_p11 *p, const uint8_t *id, size_t id_len,
		  CK_OBJECT_HANDLE handle)
{
	key_slot   *victim = &p->cache[0];
	int			i;

	for (i = 0; i < TPW_P11_CACHE_SIZE; i++)
	{
		key_slot   *s = &p->cache[i];

		if (s->id_len == 0)
		{
			victim = s;
			break;
		}
		if (s->last_use < victim->last_use)
			victim = s;
	}
	memcpy(victim->id, id, id_len);
	victim->id_len = id_len;
	victim->handle = handle;
	victim->last_use = ++p->clock;
}

static void
cache_forget(key_slot *s)
{
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------- keys */

/* the one private key with this CKA_ID, looked up on the token */
static int
find_private_key(tpw_p11 *p, const uint8_t *id, size_t id_len,
				 CK_OBJECT_HANDLE *out, char *err, size_t errlen)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	uint8_t		id_copy[TPW_P11_MAX_ID_LEN];
	CK_ATTRIBUTE tmpl[2];
	CK_OBJECT_HANDLE found[2];
	CK_ULONG	n = 0;
	CK_RV		rv;
	CK_RV		rv_final;
	char		hex[2 * TPW_P11_MAX_ID_LEN + 1];

	memcpy(id_copy, id, id_len);
	tmpl[0].type = CKA_CLASS;
	tmpl[0].pValue = &cls;
	tmpl[0].ulValueLen = sizeof(cls);
	tmpl[1].type = CKA_ID;
	tmpl[1].pValue = id_copy;
	tmpl[1].ulValueLen = id_len;

	p->lookups++;
	rv = p->f->C_FindObjectsInit(p->session, tmpl, 2);
	if (rv != CKR_OK)
		return p11_fail_rv(err, errlen, "C_FindObjectsInit", rv);
	rv = p->f->C_FindObjects(p->session, found, 2, &n);
	/* always, or the session stays in a find and refuses the next one */
	rv_final = p->f->C_FindObjectsFinal(p->session);
	if (rv != CKR_OK)
		return p11_fail_rv(err, errlen, "C_FindObjects", rv);
	if (rv_final != CKR_OK)
		return p11_fail_rv(err, errlen, "C_FindObjectsFinal", rv_final);

	/* CKA_IDs are not secret; printing them makes "not found" actionable */
	tp_hex_encode(id, id_len, hex);
	if (n == 0)
		return p11_set_err(err, errlen, TPW_P11_ERR_NOT_FOUND,
						   "no private key with id %s on the token", hex);
	if (n > 1)
		return p11_set_err(err, errlen, TPW_P11_ERR_DUPLICATE,
						   "several private keys have id %s", hex);
	*out = found[0];
	return TPW_P11_OK;
}

/*
 * A P-256 key with the same CKA_ID would also give 64-byte signatures, all
 * useless for secp256k1, so check the curve before a handle is cached.
 */
static int
check_secp256k1(tpw_p11 *p, CK_OBJECT_HANDLE key, char *err, size_t errlen)
{
	CK_KEY_TYPE type = 0;
	CK_BYTE		params[32];
	CK_ATTRIBUTE a[2];
	CK_RV		rv;

	a[0].type = CKA_KEY_TYPE;
	a[0].pValue = &type;
	a[0].ulValueLen = sizeof(type);
	a[1].type = CKA_EC_PARAMS;
	a[1].pValue = params;
	a[1].ulValueLen = sizeof(params);
	rv = p->f->C_GetAttributeValue(p->session, key, a, 2);
	if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_BUFFER_TOO_SMALL ||
		(rv == CKR_OK && (type != CKK_EC ||
						  a[1].ulValueLen != sizeof(secp256k1_params) ||
						  memcmp(params, secp256k1_params,
								 sizeof(secp256k1_params)) != 0)))
		return p11_set_err(err, errlen, TPW_P11_ERR_FORMAT,
						   "private key is not a secp256k1 key");
	if (rv != CKR_OK)
		return p11_fail_rv(err, errlen, "C_GetAttributeValue", rv);
	return TPW_P11_OK;
}

/* through the cache; *cached says whether the handle came from it */
static int
lookup_key(tpw_p11 *p, const uint8_t *id, size_t id_len,
		   CK_OBJECT_HANDLE *out, key_slot **cached, char *err, size_t errlen)
{
	int			rc;

	*cached = cache_get(p, id, id_len);
	if (*cached != NULL)
	{
		*out = (*cached)->handle;
		return TPW_P11_OK;
	}
	rc = find_private_key(p, id, id_len, out, err, errlen);
	if (rc == TPW_P11_OK)
		rc = check_secp256k1(p, *out, err, errlen);
	if (rc == TPW_P11_OK)
		cache_put(p, id, id_len, *out);
	return rc;
}

int
tpw_p11_find_key(tpw_p11 *p, const uint8_t *id, size_t id_len,
				 unsigned long *handle, char *err, size_t errlen)
{
	CK_OBJECT_HANDLE h;
	key_slot   *cached;
	int			rc;

	p11_clear_err(err, errlen);
	if (p == NULL || !id_ok(id, id_len) || handle == NULL)
		return p11_set_err(err, errlen, TPW_P11_ERR_ARG,
						   "need a handle and an id of 1 to %d bytes",
						   TPW_P11_MAX_ID_LEN);
	rc = lookup_key(p, id, id_len, &h, &cached, err, errlen);
	if (rc == TPW_P11_OK)
		*handle = h;
	return rc;
}

int
tpw_p11_has_key(tpw_p11 *p, const uint8_t *id, size_t id_len,
				char *err, size_t errlen)
{
	CK_OBJECT_HANDLE h;
	int			rc;

	p11_clear_err(err, errlen);
	if (p == NULL || !id_ok(id, id_len))
		return p11_set_err(err, errlen, TPW_P11_ERR_ARG,
						   "need a handle and an id of 1 to %d bytes",
						   TPW_P11_MAX_ID_LEN);
	/* asks the token, not the cache: the key may have been deleted */
	rc = find_private_key(p, id, id_len, &h, err, errlen);
	if (rc == TPW_P11_OK)
		return 1;
	if (rc == TPW_P11_ERR_NOT_FOUND)
	{
		p11_clear_err(err, errlen);
		return 0;
	}
	return rc;
}

/* C_GenerateRandom: the token's RNG, which is what an HSM is for */
static int
random_id(tpw_p11 *p, uint8_t id[TPW_P11_ID_LEN], char *err, size_t errlen)
{
	CK_RV		rv;

	rv = p->f->C_GenerateRandom(p->session, id, TPW_P11_ID_LEN);
	if (rv != CKR_OK)
		return p11_fail_rv(err, errlen, "C_GenerateRandom", rv);
	return TPW_P11_OK;
}

/*
 * CKA_EC_POINT is specified as the DER encoding of an OCTET STRING holding
 * the X9.62 point, but some modules return the bare point.  For an
 * uncompressed secp256k1 point the forms cannot be confused: bare is 65
 * bytes 04 X Y; wrapped is 67 bytes 04 41 04 X Y (68 bytes 04 81 41 04 X Y
 * from modules that use the long length form).
 */
static int
parse_ec_point(const CK_BYTE *buf, CK_ULONG len, uint8_t pub65[65],
			   char *err, size_t errlen)
{
	const CK_BYTE *point;

	if (len == 65)
		point = buf;
	else if (len == 67 && buf[0] == 0x04 && buf[1] == 0x41)
		point = buf + 2;
	else if (len == 68 && buf[0] == 0x04 && buf[1] == 0x81 && buf[2] == 0x41)
		point = buf + 3;
	else
		point = NULL;
	if (point == NULL || point[0] != 0x04)
		return p11_set_err(err, errlen, TPW_P11_ERR_FORMAT,
						   "CKA_EC_POINT is not an uncompressed secp256k1 point (%lu bytes)",
						   (unsigned long) len);
	memcpy(pub65, point, 65);
	return TPW_P11_OK;
}

static int
read_ec_point(tpw_p11 *p, CK_OBJECT_HANDLE pub, uint8_t pub65[65],
			  char *err, size_t errlen)
{
	CK_BYTE		buf[EC_POINT_BUF_LEN];
	CK_ATTRIBUTE a;
	CK_RV		rv;

	a.type = CKA_EC_POINT;
	a.pValue = buf;
	a.ulValueLen = sizeof(buf);
	rv = p->f->C_GetAttributeValue(p->session, pub, &a, 1);
	if (rv == CKR_BUFFER_TOO_SMALL)
		return p11_set_err(err, errlen, TPW_P11_ERR_FORMAT,
						   "CKA_EC_POINT is longer than %d bytes",
						   EC_POINT_BUF_LEN);
	if (rv != CKR_OK)
		return p11_fail_rv(err, errlen, "C_GetAttributeValue", rv);
	return parse_ec_point(buf, a.ulValueLen, pub65, err, errlen);
}

/* best effort: leaves no half-made key pair behind after a failure */
static void
destroy_objects(tpw_p11 *p, CK_OBJECT_HANDLE a, CK_OBJECT_HANDLE b)
{
	if (a != CK_INVALID_HANDLE)
		(void) p->f->C_DestroyObject(p->session, a);
	if (b != CK_INVALID_HANDLE)
		(void) p->f->C_DestroyObject(p->session, b);
}

static void
set_attr(CK_ATTRIBUTE *a, CK_ATTRIBUTE_TYPE type, const void *value,
		 size_t len)
{
	a->type = type;
	/* templates are only read by C_CreateObject and C_GenerateKeyPair */
	a->pValue = (void *) value;
	a->ulValueLen = (CK_ULONG) len;
}

/* attributes every private key we make has; returns how many were set */
static int
private_key_attrs(CK_ATTRIBUTE *a, const char *label, const uint8_t *id)
{
	static const CK_BBOOL yes = CK_TRUE;
	static const CK_BBOOL no = CK_FALSE;

	set_attr(&a[0], CKA_TOKEN, &yes, sizeof(yes));
	set_attr(&a[1], CKA_PRIVATE, &yes, sizeof(yes));
	set_attr(&a[2], CKA_SENSITIVE, &yes, sizeof(yes));
	set_attr(&a[3], CKA_EXTRACTABLE, &no, sizeof(no));
	set_attr(&a[4], CKA_SIGN, &yes, sizeof(yes));
	set_attr(&a[5], CKA_LABEL, label, strlen(label));
	set_attr(&a[6], CKA_ID, id, TPW_P11_ID_LEN);
	return 7;
}

/*
 * A key pair just made on the token: its id to the caller, and its handle
 * cached, so that the first signature needs no C_FindObjects.
 */
static int
key_made(tpw_p11 *p, const uint8_t new_id[TPW_P11_ID_LEN], CK_OBJECT_HANDLE priv,
		 uint8_t id[TPW_P11_ID_LEN])
{
	memcpy(id, new_id, TPW_P11_ID_LEN);
	cache_put(p, new_id, TPW_P11_ID_LEN, priv);
	return TPW_P11_OK;
}

/* and every public key */
static int
public_key_attrs(CK_ATTRIBUTE *a, const char *label, const uint8_t *id)
{
	static const CK_BBOOL yes = CK_TRUE;

	set_attr(&a[0], CKA_TOKEN, &yes, sizeof(yes));
	set_attr(&a[1], CKA_VERIFY, &yes, sizeof(yes));
	set_attr(&a[2], CKA_EC_PARAMS, secp256k1_params, sizeof(secp256k1_params));
	set_attr(&a[3], CKA_LABEL, label, strlen(label));
	set_attr(&a[4], CKA_ID, id, TPW_P11_ID_LEN);
	return 5;
}

int
tpw_p11_generate_secp256k1(tpw_p11 *p, const char *label, uint8_t id[16],
						   uint8_t pub65[65], char *err, size_t errlen)
{
	CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_ATTRIBUTE pub_t[8];
	CK_ATTRIBUTE priv_t[8];
	CK_ULONG	n_pub;
	CK_ULONG	n_priv;
	CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE priv = CK_INVALID_HANDLE;
	uint8_t		new_id[TPW_P11_ID_LEN];
	CK_RV		rv;
	int			rc;

	p11_clear_err(err, errlen);
	if (p == NULL || label == NULL || id == NULL || pub65 == NULL)
		return p11_set_err(err, errlen, TPW_P11_ERR_ARG,
						   "handle, label, id and public key buffers are required");

	/* a random 128-bit id: a collision with an existing key is not a risk */
	rc = random_id(p, new_id, err, errlen);
	if (rc != TPW_P11_OK)
		return rc;
	n_pub = public_key_attrs(pub_t, label, new_id);
	n_priv = private_key_attrs(priv_t, label, new_id);
	rv = p->f->C_GenerateKeyPair(p->session, &mech, pub_t, n_pub,
								 priv_t, n_priv, &pub, &priv);
	if (rv != CKR_OK)
		return p11_fail_rv(err, errlen, "C_GenerateKeyPair", rv);
	rc = read_ec_point(p, pub, pub65, err, errlen);
	if (rc != TPW_P11_OK)
	{
		destroy_objects(p, pub, priv);
		return rc;
	}
	return key_made(p, new_id, priv, id);
}

/*
 * 0 < k < n, in constant time: the scalar is secret, and memcmp's early
 * exit would tell a timer how many leading bytes match n.
 */
static bool
scalar_valid(const uint8_t k[32])
{
	unsigned int borrow = 0;
	unsigned int nonzero = 0;
	int			i;

	for (i = 31; i >= 0; i--)
	{
		unsigned int d = (unsigned int) k[i] - secp256k1_order[i] - borrow;

		borrow = (d >> 8) & 1;
		nonzero |= k[i];
	}
	/* k - n borrowed: k < n */
	return (borrow & (nonzero != 0)) != 0;
}

static int
create_object(tpw_p11 *p, CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *out,
			  char *err, size_t errlen)
{
	CK_RV		rv;

	rv = p->f->C_CreateObject(p->session, t, n, out);
	if (rv != CKR_OK)
		return p11_fail_rv(err, errlen, "C_CreateObject", rv);
	return TPW_P11_OK;
}

int
tpw_p11_import_secp256k1(tpw_p11 *p, const char *label,
						 const uint8_t priv32[32], const uint8_t pub65[65],
						 uint8_t id[16], char *err, size_t errlen)
{
	static const CK_OBJECT_CLASS priv_class = CKO_PRIVATE_KEY;
	static const CK_OBJECT_CLASS pub_class = CKO_PUBLIC_KEY;
	static const CK_KEY_TYPE key_type = CKK_EC;
	CK_ATTRIBUTE priv_t[12];
	CK_ATTRIBUTE pub_t[12];
	CK_ULONG	n;
	CK_BYTE		point_der[67];
	CK_OBJECT_HANDLE priv = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE;
	uint8_t		new_id[TPW_P11_ID_LEN];
	int			rc;

	p11_clear_err(err, errlen);
	if (p == NULL || label == NULL || priv32 == NULL || pub65 == NULL ||
		id == NULL)
		return p11_set_err(err, errlen, TPW_P11_ERR_ARG,
						   "handle, label, keys and id buffer are required");
	if (!scalar_valid(priv32))
		return p11_set_err(err, errlen, TPW_P11_ERR_ARG,
						   "private key is not a valid secp256k1 scalar");
	if (pub65[0] != 0x04)
		return p11_set_err(err, errlen, TPW_P11_ERR_ARG,
						   "public key must be uncompressed (04 || X || Y)");
	rc = random_id(p, new_id, err, errlen);
	if (rc != TPW_P11_OK)
		return rc;

	/* the key goes straight from the caller's buffer: no copy to wipe */
	n = private_key_attrs(priv_t, label, new_id);
	set_attr(&priv_t[n++], CKA_CLASS, &priv_class, sizeof(priv_class));
	set_attr(&priv_t[n++], CKA_KEY_TYPE, &key_type, sizeof(key_type));
	set_attr(&priv_t[n++], CKA_EC_PARAMS, secp256k1_params,
			 sizeof(secp256k1_params));
	set_attr(&priv_t[n++], CKA_VALUE, priv32, 32);
	rc = create_object(p, priv_t, n, &priv, err, errlen);
	if (rc != TPW_P11_OK)
		return rc;

	/* CKA_EC_POINT is DER: OCTET STRING, length 65, the point */
	point_der[0] = 0x04;
	point_der[1] = 0x41;
	memcpy(point_der + 2, pub65, 65);
	n = public_key_attrs(pub_t, label, new_id);
	set_attr(&pub_t[n++], CKA_CLASS, &pub_class, sizeof(pub_class));
	set_attr(&pub_t[n++], CKA_KEY_TYPE, &key_type, sizeof(key_type));
	set_attr(&pub_t[n++], CKA_EC_POINT, point_der, sizeof(point_der));
	rc = create_object(p, pub_t, n, &pub, err, errlen);
	if (rc != TPW_P11_OK)
	{
		destroy_objects(p, priv, CK_INVALID_HANDLE);
		return rc;
	}
	return key_made(p, new_id, priv, id);
}

/* ---------------------------------------------------------- signing */

/*
 * One C_SignInit + C_Sign.  Returns the CK_RV and, in *fn, the function
 * that returned it; *len gets the signature length.
 */
static CK_RV
sign_once(tpw_p11 *p, CK_OBJECT_HANDLE key, const uint8_t digest[32],
		  CK_BYTE sig[SIG_BUF_LEN], CK_ULONG *len, const char **fn)
{
	CK_MECHANISM mech = {CKM_ECDSA, NULL, 0};
	CK_BYTE		data[32];
	CK_RV		rv;

	memcpy(data, digest, sizeof(data));
	*fn = "C_SignInit";
	rv = p->f->C_SignInit(p->session, &mech, key);
	if (rv != CKR_OK)
		return rv;
	*fn = "C_Sign";
	*len = SIG_BUF_LEN;
	return p->f->C_Sign(p->session, data, sizeof(data), sig, len);
}

int
tpw_p11_sign_digest(tpw_p11 *p, const uint8_t *id, size_t id_len,
					const uint8_t digest[32], uint8_t rs[64],
					char *err, size_t errlen)
{
	CK_OBJECT_HANDLE key;
	key_slot   *cached;
	CK_BYTE		sig[SIG_BUF_LEN];
	CK_ULONG	len = 0;
	const char *fn;
	CK_RV		rv;
	int			rc;

	p11_clear_err(err, errlen);
	if (p == NULL || !id_ok(id, id_len) || digest == NULL || rs == NULL)
		return p11_set_err(err, errlen, TPW_P11_ERR_ARG,
						   "need a handle, an id of 1 to %d bytes, a digest and a buffer",
						   TPW_P11_MAX_ID_LEN);
	rc = lookup_key(p, id, id_len, &key, &cached, err, errlen);
	if (rc != TPW_P11_OK)
		return rc;
	rv = sign_once(p, key, digest, sig, &len, &fn);

	/*
	 * A cached handle goes stale when the key is deleted (or the token
	 * re-initialized) behind our back: look it up afresh, once.
	 */
	if (cached != NULL &&
		(rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID))
	{
		cache_forget(cached);
		rc = lookup_key(p, id, id_len, &key, &cached, err, errlen);
		if (rc != TPW_P11_OK)
			return rc;
		rv = sign_once(p, key, digest, sig, &len, &fn);
	}
	if (rv != CKR_OK)
		return p11_fail_rv(err, errlen, fn, rv);
	if (len != 64)
		return p11_set_err(err, errlen, TPW_P11_ERR_FORMAT,
						   "C_Sign returned %lu bytes, want 64",
						   (unsigned long) len);
	memcpy(rs, sig, 64);
	return TPW_P11_OK;
}
