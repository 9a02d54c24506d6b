/*-------------------------------------------------------------------------
 *
 * frost_codec.c
 *	  FROST(secp256k1, SHA-256), RFC 9591: identifier lists and the wire
 *	  encodings of commitment lists and signature share lists.
 *
 * A list is n fixed-size entries, each led by its identifier as a 32-byte
 * scalar.  Lists may arrive in any order: every list a call takes is
 * checked and sorted by identifier here (fr_sort_identifiers), and the
 * encoders write entries in that order, as the RFC's
 * encode_group_commitment_list does.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "frost_internal.h"

/* ------------------------------------------------- identifier lists */

/*
 * Check identifiers (in input order), sort the indices 0..n-1 by
 * identifier into order[], then reject duplicates.  n <= 255.
 */
int
fr_sort_identifiers(const int *ids, size_t n, uint8_t *order, int *culprit)
{
	size_t		i,
				j;
	int			rc;

	for (i = 0; i < n; i++)
	{
		rc = fr_identifier_check(ids[i]);
		if (rc != FROST_OK)
		{
			fr_set_culprit(culprit, ids[i]);
			return rc;
		}
		order[i] = (uint8_t) i;
	}
	/* insertion sort of at most 255 small keys */
	for (i = 1; i < n; i++)
	{
		uint8_t		k = order[i];

		for (j = i; j > 0 && ids[order[j - 1]] > ids[k]; j--)
			order[j] = order[j - 1];
		order[j] = k;
	}
	for (i = 1; i < n; i++)
		if (ids[order[i]] == ids[order[i - 1]])
		{
			fr_set_culprit(culprit, ids[order[i]]);
			return FROST_ERR_DUPLICATE_IDENTIFIER;
		}
	return FROST_OK;
}

/* A 32-byte identifier scalar; only 1..255 are supported. */
static int
identifier_decode(const uint8_t in[FROST_SCALAR_LEN], int *id)
{
	int			i;

	*id = 0;
	if (fr_scalar_is_zero(in))
		return FROST_ERR_IDENTIFIER_ZERO;
	for (i = 0; i < FROST_SCALAR_LEN - 1; i++)
		if (in[i] != 0)
			return FROST_ERR_IDENTIFIER_RANGE;
	*id = in[FROST_SCALAR_LEN - 1];
	return FROST_OK;
}

/* An encoded list: n entries of entry_len bytes, each led by an identifier. */
static int
decode_identifiers(const uint8_t *data, size_t len, size_t entry_len,
				   size_t cap, int *ids, uint8_t *order, size_t *n_out,
				   int *culprit)
{
	size_t		n,
				i;
	int			rc;

	if (len == 0 || len % entry_len != 0 || len / entry_len > FROST_MAX_SIGNERS)
		return FROST_ERR_COUNT;
	n = len / entry_len;
	if (n > cap)
		return FROST_ERR_ARGUMENT;
	for (i = 0; i < n; i++)
	{
		rc = identifier_decode(data + i * entry_len, &ids[i]);
		if (rc != FROST_OK)
			return rc;
	}
	*n_out = n;
	return fr_sort_identifiers(ids, n, order, culprit);
}

int
frost_commitment_list_decode(const secp256k1_context *ctx,
							 const uint8_t *data, size_t len,
							 frost_commitment *out, size_t cap,
							 size_t *n_out, int *culprit)
{
	int			ids[FROST_MAX_SIGNERS];
	uint8_t		order[FROST_MAX_SIGNERS];
	secp256k1_pubkey p;
	size_t		n = 0,
				i;
	int			rc;

	fr_set_culprit(culprit, 0);
	if (n_out != NULL)
		*n_out = 0;
	if (ctx == NULL || data == NULL || out == NULL || n_out == NULL)
		return FROST_ERR_ARGUMENT;
	rc = decode_identifiers(data, len, FROST_COMMITMENT_ENC_LEN, cap, ids,
							order, &n, culprit);
	for (i = 0; rc == FROST_OK && i < n; i++)
	{
		const uint8_t *src = data + order[i] * FROST_COMMITMENT_ENC_LEN;
		const uint8_t *hiding = src + FROST_SCALAR_LEN;
		const uint8_t *binding = hiding + FROST_ELEMENT_LEN;

		rc = fr_element_decode(ctx, hiding, &p);
		if (rc == FROST_OK)
			rc = fr_element_decode(ctx, binding, &p);
		if (rc != FROST_OK)
		{
			fr_set_culprit(culprit, ids[order[i]]);
			break;
		}
		out[i].identifier = ids[order[i]];
		memcpy(out[i].hiding, hiding, FROST_ELEMENT_LEN);
		memcpy(out[i].binding, binding, FROST_ELEMENT_LEN);
	}
	if (rc == FROST_OK)
		*n_out = n;
	return rc;
}

int
frost_commitment_list_encode(const frost_commitment *list, size_t n,
							 uint8_t *out, int *culprit)
{
	int			ids[FROST_MAX_SIGNERS];
	uint8_t		order[FROST_MAX_SIGNERS];
	size_t		i;
	int			rc;

	fr_set_culprit(culprit, 0);
	if (list == NULL || out == NULL)
		return FROST_ERR_ARGUMENT;
	if (n == 0 || n > FROST_MAX_SIGNERS)
		return FROST_ERR_COUNT;
	for (i = 0; i < n; i++)
		ids[i] = list[i].identifier;
	rc = fr_sort_identifiers(ids, n, order, culprit);
	for (i = 0; rc == FROST_OK && i < n; i++)
	{
		const frost_commitment *c = &list[order[i]];
		uint8_t    *dst = out + i * FROST_COMMITMENT_ENC_LEN;

		fr_identifier_encode(c->identifier, dst);
		memcpy(dst + FROST_SCALAR_LEN, c->hiding, FROST_ELEMENT_LEN);
		memcpy(dst + FROST_SCALAR_LEN + FROST_ELEMENT_LEN, c->binding,
			   FROST_ELEMENT_LEN);
	}
	return rc;
}

int
frost_share_list_decode(const uint8_t *data, size_t len,
						frost_signature_share *out, size_t cap,
						size_t *n_out, int *culprit)
{
	int			ids[FROST_MAX_SIGNERS];
	uint8_t		order[FROST_MAX_SIGNERS];
	size_t		n = 0,
				i;
	int			rc;

	fr_set_culprit(culprit, 0);
	if (n_out != NULL)
		*n_out = 0;
	if (data == NULL || out == NULL || n_out == NULL)
		return FROST_ERR_ARGUMENT;
	rc = decode_identifiers(data, len, FROST_SHARE_ENC_LEN, cap, ids, order,
							&n, culprit);
	for (i = 0; rc == FROST_OK && i < n; i++)
	{
		const uint8_t *z = data + order[i] * FROST_SHARE_ENC_LEN
			+ FROST_SCALAR_LEN;

		rc = frost_scalar_check(z);
		if (rc != FROST_OK)
		{
			fr_set_culprit(culprit, ids[order[i]]);
			break;
		}
		out[i].identifier = ids[order[i]];
		memcpy(out[i].share, z, FROST_SCALAR_LEN);
	}
	if (rc == FROST_OK)
		*n_out = n;
	return rc;
}

int
frost_share_list_encode(const frost_signature_share *list, size_t n,
						uint8_t *out, int *culprit)
{
	int			ids[FROST_MAX_SIGNERS];
	uint8_t		order[FROST_MAX_SIGNERS];
	size_t		i;
	int			rc;

	fr_set_culprit(culprit, 0);
	if (list == NULL || out == NULL)
		return FROST_ERR_ARGUMENT;
	if (n == 0 || n > FROST_MAX_SIGNERS)
		return FROST_ERR_COUNT;
	for (i = 0; i < n; i++)
		ids[i] = list[i].identifier;
	rc = fr_sort_identifiers(ids, n, order, culprit);
	for (i = 0; rc == FROST_OK && i < n; i++)
	{
		const frost_signature_share *s = &list[order[i]];
		uint8_t    *dst = out + i * FROST_SHARE_ENC_LEN;

		rc = frost_scalar_check(s->share);
		if (rc != FROST_OK)
		{
			fr_set_culprit(culprit, s->identifier);
			break;
		}
		fr_identifier_encode(s->identifier, dst);
		memcpy(dst + FROST_SCALAR_LEN, s->share, FROST_SCALAR_LEN);
	}
	return rc;
}
