#!/bin/sh
# After the files are gone: systemd forgets the unit. The user borderwatch and
# /var/lib/borderwatch (the embedded database, the admin password file) stay, even on
# dpkg --purge: removing a package must not remove a port's records; delete them by hand if that
# is what you mean. A changed environment file stays too: rpm keeps it as
# borderwatch.env.rpmsave, dpkg until --purge.
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
