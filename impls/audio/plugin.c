/* plugin.c — backend "audio" (issue 14): registers the decode and resample impls and the
 * versions of the libraries they call. */
#include <opusfile.h>
#include <samplerate.h>
#include <sndfile.h>
#include <soxr.h>

#include "audio.h"

SONO_EXPORT int sono_plugin_init(sono_registry *r, sono_error *err)
{
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
