#!/usr/bin/env bash
# Generates the Hebrew phone prompts from assets/tts/prompts.he.txt (key|text per line).
#
# For every key it writes into assets/tts/:
#   <key>_he.mp3   22.05 kHz mono MP3, for TwiML <Play> (/static/tts/<key>_he.mp3)
#   <key>_he.ulaw  8 kHz mono G.711 mu-law, headerless, for the Media Streams WebSocket
#
# A studio recording replaces a synthesized prompt: drop <key>_he.wav (any rate, any
# channels) into assets/tts/ and run this script again; the mp3 and ulaw are then made
# from the recording instead of espeak-ng.
#
# Requires: espeak-ng (Hebrew voice "he"), sox, lame.  Usage: scripts/generate-prompts.sh [prompts-file] [out-dir]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prompts="${1:-$root/assets/tts/prompts.he.txt}"
out="${2:-$root/assets/tts}"

for tool in espeak-ng sox lame; do
  command -v "$tool" >/dev/null || { echo "generate-prompts: $tool is not installed (apt-get install -y espeak-ng sox lame)" >&2; exit 1; }
done

mkdir -p "$out"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

count=0
while IFS='|' read -r key text || [[ -n "$key" ]]; do
  [[ -z "${key// }" || "$key" == \#* ]] && continue
  if [[ ! "$key" =~ ^[a-z0-9_]+$ || -z "$text" ]]; then
    echo "generate-prompts: bad line for key '$key' in $prompts" >&2; exit 1
  fi
  source_wav="$out/${key}_he.wav"
  if [[ -f "$source_wav" ]]; then
    echo "$key: using studio recording ${key}_he.wav"
    src="$source_wav"
  else
    src="$tmp/$key.wav"
    # -s 150 words/minute: a calm phone pace; -a 160 keeps peaks clear of clipping after resampling.
    espeak-ng -v he -s 150 -a 160 -w "$src" "$text"
  fi
  # Normalise to -3 dBFS peak, trim leading/trailing silence, keep 150 ms of air at each end.
  sox "$src" -r 22050 -c 1 -b 16 "$tmp/$key.norm.wav" \
    silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse gain -n -3 pad 0.15 0.15
  lame --quiet -m m -b 48 --resample 22.05 --tt "$key" --tc "AgentLocator prompt" \
    "$tmp/$key.norm.wav" "$out/${key}_he.mp3"
  # Phone line: 8 kHz, mono, G.711 mu-law, raw (no header) = the Media Streams payload format. The live
  # call's prompts keep only 30 ms of the lead-in air: every millisecond of it is reply latency the caller
  # waits through after the silence window (the MP3s, played by Twilio's <Play>, keep theirs).
  sox "$tmp/$key.norm.wav" -r 8000 -c 1 -e u-law -t raw "$out/${key}_he.ulaw" trim 0.12
  count=$((count + 1))
done < "$prompts"

echo "generate-prompts: $count prompts written to $out"
