# sbuild user configuration written by `cascade setup`
# (~/.config/sbuild/config.pl). cascade passes everything a build needs on
# sbuild's command line; this file only makes plain `sbuild` calls behave
# the same way when you reproduce a build by hand.

# Builds run in an unshared user namespace from a chroot tarball in
# ~/.cache/sbuild (SUITE-ARCH.tar), made by `cascade setup` with mmdebstrap.
$chroot_mode = 'unshare';

# `cascade setup --max-age-days N` refreshes the tarballs; sbuild must not
# rebuild them on its own in the middle of a run (the tarball is part of
# each build's input hash).
$unshare_mmdebstrap_max_age = -1;

# cascade builds, it does not check: lintian, piuparts and autopkgtest are
# separate jobs.
$run_lintian = 0;
$run_piuparts = 0;
$run_autopkgtest = 0;

# dose3 would first be installed into the chroot (slow under qemu).
$bd_uninstallable_explainer = 'apt';

1;
