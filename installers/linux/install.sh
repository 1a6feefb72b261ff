#!/bin/sh
# Installs (or removes) PrintRelay from this folder on a Linux machine with systemd:
#   /opt/printrelay/printrelay            the single executable (agent and relay); node_modules/,
#                                         store-page/ and hq/ (the pages) beside it
#   /etc/systemd/system/printrelay-*.service
#   /var/lib/printrelay-agent|relay       data, 0700, owned by the service's own system user
#
#   sudo ./install.sh                                   the store agent
#   sudo ./install.sh --relay-url https://relay.example.com --code ABCD-EFGH-JKMN
#                                                       ... and what `printrelay agent enrol` needs
#   sudo ./install.sh --relay                           the relay instead
#   sudo ./install.sh --uninstall [--purge]             remove (--purge: the data too)
#   ./install.sh --root DIR ...                         lay the files out under DIR only (no users,
#                                                       no systemctl): for packaging and tests
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=""
service=printrelay-agent
relay_url=""
code=""
start=yes
action=install
purge=no

die() { echo "install.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --agent) service=printrelay-agent ;;
    --relay) service=printrelay-relay ;;
    --relay-url) [ $# -ge 2 ] || die "--relay-url needs a value"; relay_url=$2; shift ;;
    --code) [ $# -ge 2 ] || die "--code needs a value"; code=$2; shift ;;
    --root) [ $# -ge 2 ] || die "--root needs a directory"; root=$(cd "$2" && pwd) || die "no directory $2"; shift ;;
    --no-start) start=no ;;
    --uninstall) action=uninstall ;;
    --purge) purge=yes ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done

# Only a real install touches users and systemd.
real=no
[ -z "$root" ] && real=yes
if [ "$real" = yes ] && [ "$(id -u)" -ne 0 ]; then die "run it as root (sudo), or with --root DIR"; fi
has_systemd=no
if [ "$real" = yes ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then has_systemd=yes; fi

opt="$root/opt/printrelay"
units="$root/etc/systemd/system"
data="$root/var/lib/$service"
user=$service

if [ "$action" = uninstall ]; then
  if [ "$has_systemd" = yes ]; then
    systemctl disable --now "$service.service" 2>/dev/null || true
  fi
  rm -f "$units/$service.service"
  [ "$has_systemd" = yes ] && systemctl daemon-reload
  # The program stays while the other service still uses it.
  other=printrelay-agent
  [ "$service" = printrelay-agent ] && other=printrelay-relay
  [ -e "$units/$other.service" ] || rm -rf "$opt"
  if [ "$purge" = yes ]; then
    rm -rf "$data"
    if [ "$real" = yes ] && id "$user" >/dev/null 2>&1; then userdel "$user"; fi
    echo "Removed $service and its data."
  else
    echo "Removed $service; its data stays in $data (--purge removes it)."
  fi
  exit 0
fi

case "$relay_url" in
  ""|https://*|http://*) ;;
  *) die "--relay-url is the relay's API address: it starts with https:// (or http://)" ;;
esac
if [ -n "$relay_url" ] && [ -z "$code" ]; then die "--relay-url needs --code (the store's enrolment code)"; fi
if [ -n "$code" ] && [ -z "$relay_url" ]; then die "--code needs --relay-url"; fi
case "$relay_url$code" in *'"'*|*'\'*|*' '*) die "the relay URL and code cannot hold quotes, backslashes or spaces" ;; esac
[ -x "$here/printrelay" ] || die "no printrelay executable beside this script"

# The program: replaced as a whole, so nothing of an older version is left beside it.
[ "$has_systemd" = yes ] && systemctl stop "$service.service" 2>/dev/null || true
mkdir -p "$root/opt"
rm -rf "$opt.new"
mkdir -m 0755 "$opt.new"
cp "$here/printrelay" "$opt.new/printrelay"
cp -R "$here/node_modules" "$opt.new/node_modules"
cp -R "$here/store-page" "$here/hq" "$opt.new/"
cp "$here"/LICENSE-*.txt "$opt.new/"
chmod -R u=rwX,go=rX "$opt.new"
chmod 0755 "$opt.new/printrelay"
rm -rf "$opt"
mv "$opt.new" "$opt"

mkdir -p "$units"
install -m 0644 "$here/$service.service" "$units/$service.service"

if [ "$real" = yes ] && ! id "$user" >/dev/null 2>&1; then
  useradd --system --user-group --home-dir "/var/lib/$service" --no-create-home \
    --shell /usr/sbin/nologin --comment "PrintRelay ($service)" "$user"
fi
mkdir -p "$root/var/lib"
install -d -m 0700 "$data"
[ "$real" = yes ] && chown "$user:$user" "$data"

if [ -n "$relay_url" ]; then
  # The relay's API address and one-time code, for `printrelay agent enrol`.
  (umask 077 && printf '{"relayUrl":"%s","code":"%s"}\n' "$relay_url" "$code" > "$data/enrol.json")
  [ "$real" = yes ] && chown "$user:$user" "$data/enrol.json"
fi

if [ "$has_systemd" = yes ]; then
  systemctl daemon-reload
  if [ "$start" = yes ]; then systemctl enable --now "$service.service"; else systemctl enable "$service.service"; fi
  echo "Installed $service: systemctl status $service shows how it runs; journalctl -u $service its log."
elif [ "$real" = yes ]; then
  echo "Installed $service. systemd is not running here: start /opt/printrelay/printrelay yourself."
else
  echo "Laid out $service under $root (no users or services were made)."
fi
