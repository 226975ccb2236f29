# Shared by the scripts in this folder: where the caches live and how steps are logged.
# Sourced, not run.

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Everything heavy lives outside the checkout so that a fresh clone reuses it.
export DATAMARKET_CACHE=${DATAMARKET_CACHE:-$HOME/.cache/datamarket}
export DATAMARKET_BIN=${DATAMARKET_BIN:-$DATAMARKET_CACHE/bin}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$DATAMARKET_CACHE/target}
# cargo-contract's own target directory, shared by the contracts (it may empty it, so it
# is not CARGO_TARGET_DIR; see build-contracts), and where the built bundles are collected.
export DATAMARKET_CONTRACTS_TARGET=${DATAMARKET_CONTRACTS_TARGET:-$DATAMARKET_CACHE/target-contracts}
export DATAMARKET_BUNDLES=${DATAMARKET_BUNDLES:-$DATAMARKET_CACHE/bundles}
# The example compute jobs built to wasm32-wasip1 (scripts/build-jobs).
export DATAMARKET_JOBS=${DATAMARKET_JOBS:-$DATAMARKET_CACHE/jobs}
export PATH="$DATAMARKET_BIN:$HOME/.cargo/bin:$PATH"
# ink! decodes call input into a static buffer (16 KiB by default); a chunk dispute
# carries up to 256 KiB of chunk plus its proof (DESIGN §3), so make room for it.
export INK_STATIC_BUFFER_SIZE=${INK_STATIC_BUFFER_SIZE:-294912}

# step "what" command...: prints what runs, then how long it took; stops on failure.
step() {
  local what=$1; shift
  local started=$SECONDS
  echo "==> $what"
  if "$@"; then
    echo "    done in $((SECONDS - started)) s"
  else
    local rc=$?
    echo "    FAILED after $((SECONDS - started)) s (exit $rc): $what" >&2
    return $rc
  fi
}

# rust_targets: the wasm32 target and rust-src that ink! contracts and the node's runtime
# build need, and wasm32-wasip1 for the example compute jobs.
rust_targets() {
  rustup target list --installed | grep -qx wasm32-unknown-unknown \
    || rustup target add wasm32-unknown-unknown
  rustup target list --installed | grep -qx wasm32-wasip1 \
    || rustup target add wasm32-wasip1
  rustup component list --installed | grep -q '^rust-src' \
    || rustup component add rust-src
}

# prebuilt_tools_dir: prints the first prebuilt tool cache found ($DATAMARKET_PREBUILT,
# the workplace's shared folder beside the checkout, or /work/shared/bin, as in CI);
# fails when there is none.
prebuilt_tools_dir() {
  local candidate
  for candidate in "${DATAMARKET_PREBUILT:-}" "$repo_root/../shared/bin" /work/shared/bin; do
    if [ -n "$candidate" ] && [ -x "$candidate/unpack" ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

# apt_install PACKAGE...: installs Debian packages, as root or through passwordless sudo;
# fails with the command to run otherwise.
apt_install() {
  local as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      as_root=(sudo -n)
    else
      echo "ERROR: this needs root (or passwordless sudo). As root:" >&2
      echo "  apt-get update && apt-get install -y $*" >&2
      return 1
    fi
  fi
  echo "    apt-get update && apt-get install -y $*"
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
