#!/usr/bin/env bash
# Generates the caller utterances the tests play into the media pipeline:
# AgentLocator.Tests/Fixtures/audio/<name>.wav — Hebrew speech by espeak-ng, 8 kHz mono
# G.711 mu-law WAV (what a phone line carries), with 300 ms of silence before and after.
# Requires: espeak-ng, sox.  Usage: scripts/generate-test-audio.sh [out-dir]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/AgentLocator.Tests/Fixtures/audio}"

for tool in espeak-ng sox; do
  command -v "$tool" >/dev/null || { echo "generate-test-audio: $tool is not installed" >&2; exit 1; }
done

mkdir -p "$out"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# name|text|voice (a male caller voice variant keeps the fixtures unlike the female prompts)
utterances=(
  "caller_name_he|קוראים לי דני כהן|he+m3"
  "caller_reason_he|אני רוצה לקבוע תור לטיפול|he+m3"
  "caller_callback_time_he|מחר בבוקר אחרי תשע|he+m3"
  "caller_yes_he|כן|he+m3"
  # Long answers for the real-time whole-call tests (about 4 s and 8 s of speech, no pause long enough to end a turn).
  "caller_problem_4s_he|הברז במטבח דולף כבר שלושה ימים ואני צריך שמישהו יבוא היום|he+m3"
  "caller_problem_8s_he|הברז במטבח דולף כבר שלושה ימים והמים מגיעים עד לסלון ואני צריך מישהו שיבוא לתקן אותו מהר ככל האפשר כי יש לנו אורחים|he+m3"
)

for entry in "${utterances[@]}"; do
  IFS='|' read -r name text voice <<<"$entry"
  espeak-ng -v "$voice" -s 160 -a 150 -w "$tmp/$name.wav" "$text"
  sox "$tmp/$name.wav" -r 8000 -c 1 "$tmp/$name.8k.wav" \
    silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse gain -n -6 pad 0.3 0.3
  sox "$tmp/$name.8k.wav" -e u-law "$out/$name.wav"
  echo "$name: $(soxi -D "$out/$name.wav") s"
done
