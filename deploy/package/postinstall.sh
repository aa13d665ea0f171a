#!/bin/sh
# After the files are in place (dpkg: postinst configure; rpm: %post): the system user, the data
# directory, and systemd told about the unit. The service is neither enabled nor started here:
# that is the administrator's step, after reading /etc/borderwatch/borderwatch.env. Nothing here
# needs the network.
set -e

# dpkg passes "configure" and the version replaced ("" on a first install); rpm passes how many
# versions are installed now (1 on a first install).
first_install=no
case "$1" in
configure) [ -z "$2" ] && first_install=yes ;;
1) first_install=yes ;;
[0-9]*) ;;
*) exit 0 ;;
esac

if ! getent passwd borderwatch >/dev/null; then
	if getent group borderwatch >/dev/null; then
		group_flag="--gid borderwatch"
	else
		group_flag="--user-group"
	fi
	nologin=$(command -v nologin || echo /sbin/nologin)
	# shellcheck disable=SC2086 # group_flag is two words or one
	useradd --system $group_flag --home-dir /var/lib/borderwatch --no-create-home \
		--shell "$nologin" --comment "BorderWatch server" borderwatch
fi
# systemd's StateDirectory= creates it too; here for systemd older than 235 and for running
# borderwatch by hand as the user.
install -d -o borderwatch -g borderwatch -m 0700 /var/lib/borderwatch

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
	# An upgrade: a running server goes on with the new binary.
	systemctl try-restart borderwatch.service || true
fi

if [ "$first_install" = yes ]; then
	cat <<'MSG'

BorderWatch is installed. Review the settings in /etc/borderwatch/borderwatch.env, then start it:

    systemctl enable --now borderwatch

On its first start the server creates the user "admin" with a generated password, which it
prints once to its log (journalctl -u borderwatch) and keeps in a file only root and the
service can read:

    cat /var/lib/borderwatch/initial-admin-password

Log in at http://<this server>:8080/, change the password, then delete that file.

MSG
fi
