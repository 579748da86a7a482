/* fwdjson.h - forwards as JSON, shared by the API's replies and the state
 * file: slirp4netns's members of a forward, and json-glib member helpers. */
#ifndef SN_FWDJSON_H
#define SN_FWDJSON_H

#include <json-glib/json-glib.h>
#include <stdbool.h>

#include "forward.h"

/* sn_json_add_str(), _int(), _bool() - "name": value, in an open object */
void sn_json_add_str(JsonBuilder *b, const char *name, const char *v);
void sn_json_add_int(JsonBuilder *b, const char *name, gint64 v);
void sn_json_add_bool(JsonBuilder *b, const char *name, bool v);

/* sn_json_str() - the string @n holds, or NULL (@n NULL or no string) */
const char *sn_json_str(JsonNode *n);

/*
 * sn_json_bool() - the boolean @n holds in *@out; false when @n is NULL
 * (absent). Return: false if @n is there but no boolean
 */
bool sn_json_bool(JsonNode *n, bool *out);

/* sn_fwd_mode_name() - "auto", "splice", "slirp" or "tap" */
const char *sn_fwd_mode_name(enum sn_fwd_mode mode);

/* The modes' names, for messages. */
#define SN_FWD_MODE_NAMES "\"auto\", \"splice\", \"slirp\" or \"tap\""

/* sn_fwd_mode_parse() - the mode named @name (NULL: none). Return: found */
bool sn_fwd_mode_parse(const char *name, enum sn_fwd_mode *mode);

/*
 * sn_fwd_json_members() - @f's id, proto, host_addr, host_port, guest_addr
 * and guest_port, in slirp4netns's order, into the open object of @b
 */
void sn_fwd_json_members(JsonBuilder *b, const struct sn_fwd *f);

#endif
