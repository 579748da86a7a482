/* jsonmod.c - finding and loading slirpnetd-json.so, the daemon's JSON code,
 * the first time it is needed (see jsonmod.h). */
#include <dlfcn.h>
#include <errno.h>
#include <unistd.h>

#include "jsonmod.h"
#include "version.h"

/* Linked in (the unit tests, the fuzzers): used as it is. Weak, so that in
 * the daemon, which does not link it, its address is NULL. */
extern const struct sn_json_module sn_json_module __attribute__((weak));

/* module_path() - beside the executable if there (a build tree), else
 * where it is installed; g_free it */
static char *module_path(void)
{
	g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
	g_autofree char *dir = exe ? g_path_get_dirname(exe) : NULL;
	char *here = dir ? g_build_filename(dir, SN_JSONMOD_FILE, NULL) : NULL;

	if (here && access(here, R_OK) == 0)
		return here;
	g_free(here);
	return g_build_filename(SN_JSONMOD_DIR, SN_JSONMOD_FILE, NULL);
}

/* check() - @m's build is ours; else @err names @path */
static const struct sn_json_module *check(const struct sn_json_module *m,
					  const char *path, GError **err)
{
	if (m && g_strcmp0(m->build, SN_JSONMOD_BUILD) == 0)
		return m;
	g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
		    "%s is from another build of slirpnetd (%s, not %s); "
		    "install the module that came with this binary",
		    path, m ? m->build : "no sn_json_module", SN_JSONMOD_BUILD);
	return NULL;
}

const struct sn_json_module *sn_jsonmod(GError **err)
{
	g_autofree char *path = NULL;
	void *lib;

	if (&sn_json_module)
		return &sn_json_module;
	/* Loaded before (it stays): found by its soname, no path needed,
	 * which matters inside --enable-sandbox's empty root. */
	lib = dlopen(SN_JSONMOD_FILE, RTLD_NOW | RTLD_NOLOAD);
	if (!lib) {
		path = module_path();
		lib = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	}
	if (!lib) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT,
			    "cannot load the JSON module: %s (reinstall "
			    "slirpnetd: the module belongs with the binary)",
			    dlerror());
		return NULL;
	}
	return check(dlsym(lib, "sn_json_module"),
		     path ? path : SN_JSONMOD_FILE, err);
}

bool sn_jsonmod_find(GError **err)
{
	g_autofree char *path = NULL;

	if (&sn_json_module)
		return true;
	path = module_path();
	if (access(path, R_OK) == 0)
		return true;
	g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
		    "cannot read %s, the module that answers the API socket "
		    "and reads the state file: %s (reinstall slirpnetd: the "
		    "module belongs with the binary)",
		    path, g_strerror(errno));
	return false;
}
