#!/bin/sh
# Before the files go, when the package is removed rather than upgraded (dpkg: prerm remove; rpm:
# %preun with no version left): stop and disable the service. On an upgrade it keeps running
# and postinstall restarts it on the new binary.
set -e
case "$1" in
remove | 0) ;;
*) exit 0 ;;
esac
if [ -d /run/systemd/system ]; then
	systemctl disable --now borderwatch.service || true
fi
