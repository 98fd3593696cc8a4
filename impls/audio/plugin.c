/* plugin.c — backend "audio" (issue 14): registers the decode and resample impls and the
 * versions of the libraries they call. */
#include <dlfcn.h>
#include <opusfile.h>
#include <samplerate.h>
#include <sndfile.h>
#include <soxr.h>

#include "audio.h"

SONO_EXPORT int sono_plugin_init(sono_registry *r, sono_error *err)
{
    /* libsoxr pulls in libgomp, whose constructor allocates; unloaded with this plugin at
     * exit, that memory shows as a leak under LeakSanitizer. Pinned (RTLD_NODELETE on the
     * copy already loaded), both stay mapped until the process ends. */
    (void)dlopen("libsoxr.so.0", RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
    for (int i = 0; i < audio_ndecode_impls; i++)
        if (r->add_impl(r, &audio_decode_impls[i]))
            return sono_fail(err, SONO_EINTERNAL, "audio: registering %s failed",
                             audio_decode_impls[i].name);
    for (int i = 0; i < audio_nresample_impls; i++)
        if (r->add_impl(r, &audio_resample_impls[i]))
            return sono_fail(err, SONO_EINTERNAL, "audio: registering %s failed",
                             audio_resample_impls[i].name);
    r->add_lib(r, "libsndfile", sf_version_string());
    r->add_lib(r, "libsamplerate", src_get_version());
    r->add_lib(r, "libsoxr", soxr_version());
    r->add_lib(r, "libopusfile", "0.12 (Debian build)");
    return 0;
}
