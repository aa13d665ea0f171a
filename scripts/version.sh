#!/usr/bin/env bash
# Prints this checkout's version, for the packages and `borderwatch version` (make package):
# the newest v* tag reachable from HEAD without its v (1.2.0), followed, unless HEAD is that tag,
# by +git<commit time in UTC>.<commit> (1.2.0+git20260102030405.975e7c7abcde); 0.0.0 before the
# first tag; and .dirty when tracked files have changes. dpkg and rpm both order such versions
# by tag, then by commit time.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=$(git describe --tags --match 'v[0-9]*' --abbrev=0 2>/dev/null || true)
meta=
if [ -z "$tag" ] || [ "$(git rev-parse "$tag^{commit}")" != "$(git rev-parse HEAD)" ]; then
	meta=git$(TZ=UTC0 git log -1 --date=format-local:%Y%m%d%H%M%S --format=%cd).$(git rev-parse --short=12 HEAD)
fi
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
	meta=${meta:+$meta.}dirty
fi
version=${tag#v}
echo "${version:-0.0.0}${meta:++$meta}"
