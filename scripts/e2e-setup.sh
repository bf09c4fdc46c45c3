#!/usr/bin/env bash
# Installs what the end-to-end tests need: Debian packages (Chromium, ripgrep, compilers
# for code-server's native modules) and code-server, a real VS Code workbench served to a
# browser, in a project-local folder (.e2e/, ignored by git). Safe to run again: every
# step checks first and does nothing when its result is already there.
#
#   scripts/e2e-setup.sh            # or: npm run e2e:setup
#
# Environment: ADAPTER_LAB_E2E_DIR overrides the install folder (default <repo>/.e2e).
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
# The ripgrep that code-server's @vscode/ripgrep expects, and where its installer looks
# for a cached download before trying to fetch one. Debian's ripgrep is the same 13.0.0.
RIPGREP_PACKAGE_VERSION=1.15.11
RIPGREP_RELEASE=v13.0.0-10

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
E2E_DIR="${ADAPTER_LAB_E2E_DIR:-$ROOT/.e2e}"
CS_DIR="$E2E_DIR/code-server"
RG="$CS_DIR/node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg"
START=$SECONDS

say() { printf 'e2e-setup: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# --- Debian packages -------------------------------------------------------------------
PACKAGES=(chromium ripgrep build-essential python3 pkg-config libkrb5-dev libsecret-1-dev libx11-dev libxkbfile-dev)
missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then missing+=("$p"); fi
done
if ((${#missing[@]})); then
  command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get; install them by hand"
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "missing packages (${missing[*]}); run as root or install them first"
    SUDO=(sudo)
  fi
  say "installing Debian packages: ${missing[*]}"
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "Debian packages present"
fi
[[ -x /usr/bin/chromium ]] || die "/usr/bin/chromium not found after installing the chromium package"
[[ -x /usr/bin/rg ]] || die "/usr/bin/rg not found after installing the ripgrep package"

# --- code-server -----------------------------------------------------------------------
installed_version() {
  node -p "require('$CS_DIR/node_modules/code-server/package.json').version" 2>/dev/null || true
}
if [[ "$(installed_version)" == "$CODE_SERVER_VERSION" && -x "$RG" ]]; then
  say "code-server $CODE_SERVER_VERSION present"
else
  case "$(uname -m)" in
    x86_64) RG_TRIPLE=x86_64-unknown-linux-musl ;;
    aarch64) RG_TRIPLE=aarch64-unknown-linux-gnu ;;
    *) die "unsupported machine $(uname -m)" ;;
  esac
  say "installing code-server $CODE_SERVER_VERSION into $CS_DIR (a few minutes: native modules compile)"
  mkdir -p "$CS_DIR" "$E2E_DIR/tmp"
  # A failed earlier attempt can leave a half-installed tree whose re-run "succeeds" without rg.
  rm -rf "$CS_DIR/node_modules" "$CS_DIR/package-lock.json"
  printf '{ "name": "adapter-lab-e2e-code-server", "private": true }\n' > "$CS_DIR/package.json"
  # @vscode/ripgrep downloads ripgrep unless this cached tarball exists: pack Debian's rg into it.
  export TMPDIR="$E2E_DIR/tmp"
  RG_CACHE="$TMPDIR/vscode-ripgrep-cache-$RIPGREP_PACKAGE_VERSION"
  mkdir -p "$RG_CACHE"
  tar -C /usr/bin -czf "$RG_CACHE/ripgrep-$RIPGREP_RELEASE-$RG_TRIPLE.tar.gz" rg
  (
    cd "$CS_DIR"
    # unsafe_perm: its postinstall refuses root otherwise; yes: node-pty runs `npx node-gyp`;
    # nodedir: build against the local Node headers instead of downloading them;
    # build_from_source: argon2/kerberos compile instead of fetching prebuilt binaries;
    # python: the system Python for node-gyp; allow_all_scripts: npm's install-script
    # policy must not block the nested installs inside lib/vscode.
    npm_config_unsafe_perm=true \
    npm_config_yes=true \
    npm_config_nodedir=/usr \
    npm_config_build_from_source=true \
    npm_config_python=/usr/bin/python3 \
    npm_config_dangerously_allow_all_scripts=true \
    npm_config_fund=false \
    npm_config_audit=false \
    npm_config_update_notifier=false \
      npm install --no-save --loglevel=error "code-server@$CODE_SERVER_VERSION" >"$E2E_DIR/code-server-install.log" 2>&1 \
      || { tail -n 40 "$E2E_DIR/code-server-install.log" >&2; die "npm install code-server@$CODE_SERVER_VERSION failed (log: $E2E_DIR/code-server-install.log)"; }
  )
  [[ "$(installed_version)" == "$CODE_SERVER_VERSION" ]] || die "code-server $CODE_SERVER_VERSION is not in $CS_DIR after the install"
  [[ -x "$RG" ]] || die "code-server installed without ripgrep ($RG missing): the cached ripgrep tarball was not used"
fi

"$CS_DIR/node_modules/.bin/code-server" --version --config "$E2E_DIR/config.yaml" >/dev/null 2>&1 \
  || die "code-server does not start: $CS_DIR/node_modules/.bin/code-server --version failed"
say "ready in $((SECONDS - START)) s: code-server $CODE_SERVER_VERSION, ripgrep $("$RG" --version | head -n 1 | cut -d' ' -f2), $(/usr/bin/chromium --version 2>/dev/null | head -n 1)"
