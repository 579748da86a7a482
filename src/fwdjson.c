/* fwdjson.c - forwards as JSON for the API's replies and the state file:
 * the members slirp4netns gives a forward, written with json-glib. */
#include <arpa/inet.h>

#include "fwdjson.h"

void sn_json_add_str(JsonBuilder *b, const char *name, const char *v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_string_value(b, v);
}

void sn_json_add_int(JsonBuilder *b, const char *name, gint64 v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_int_value(b, v);
}

void sn_json_add_bool(JsonBuilder *b, const char *name, bool v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_boolean_value(b, v);
}

const char *sn_json_str(JsonNode *n)
{
	if (!n || !JSON_NODE_HOLDS_VALUE(n) ||
	    json_node_get_value_type(n) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(n);
}

bool sn_json_bool(JsonNode *n, bool *out)
{
	*out = false;
	if (!n)
		return true;
	if (!JSON_NODE_HOLDS_VALUE(n) ||
	    json_node_get_value_type(n) != G_TYPE_BOOLEAN)
		return false;
	*out = json_node_get_boolean(n);
	return true;
}

const char *sn_fwd_mode_name(enum sn_fwd_mode mode)
{
	switch (mode) {
	case SN_FWD_MODE_AUTO:
		return "auto";
	case SN_FWD_MODE_SLIRP:
		return "slirp";
	case SN_FWD_MODE_TAP:
		return "tap";
	case SN_FWD_MODE_SPLICE:
		break;
	}
	return "splice";
}

bool sn_fwd_mode_parse(const char *name, enum sn_fwd_mode *mode)
{
	static const enum sn_fwd_mode all[] = {
		SN_FWD_MODE_AUTO,
		SN_FWD_MODE_SPLICE,
		SN_FWD_MODE_SLIRP,
		SN_FWD_MODE_TAP,
	};

	for (size_t i = 0; name && i < G_N_ELEMENTS(all); i++) {
		if (!strcmp(name, sn_fwd_mode_name(all[i]))) {
			*mode = all[i];
			return true;
		}
	}
	return false;
}

void sn_fwd_json_members(JsonBuilder *b, const struct sn_fwd *f)
{
	const struct sn_fwd_spec *s = &f->spec;
	char host[INET6_ADDRSTRLEN], guest[INET_ADDRSTRLEN];

	if (s->host_family == AF_INET6)
		inet_ntop(AF_INET6, &s->host_addr6, host, sizeof(host));
	else
		inet_ntop(AF_INET, &s->host_addr, host, sizeof(host));
	inet_ntop(AF_INET, &s->guest_addr, guest, sizeof(guest));
	sn_json_add_int(b, "id", f->id);
	sn_json_add_str(b, "proto", s->proto == SN_FWD_UDP ? "udp" : "tcp");
	sn_json_add_str(b, "host_addr", host);
	sn_json_add_int(b, "host_port", s->host_port);
	sn_json_add_str(b, "guest_addr", guest);
	sn_json_add_int(b, "guest_port", s->guest_port);
}
