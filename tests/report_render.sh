#!/bin/sh
# tests/report_render.sh: render a run's report.html in headless Chromium and
# check that every embedded image decodes (ctest entry report-render).
#
#   tests/report_render.sh REPORT_HTML [SCREENSHOT_PNG]
#   tests/report_render.sh --make-run BIN_DIR [SCREENSHOT_PNG]
#
# The report is copied into a temporary directory (its plots are embedded as
# data: URIs, so the copy must render alone) with a script injected before
# </body>: after the load event it counts the <img> elements and those that
# are complete with a natural width, and writes "images=N decoded=M" into the
# DOM, which Chromium's --dump-dom prints. Fails unless N >= 1 and M == N.
# With SCREENSHOT_PNG it also takes a screenshot of the whole page, 1280 px
# wide, for a person to look at. --make-run first makes a small real run with
# BIN_DIR/greenbench (switch and spawn, green and threads, asm, 2 repetitions)
# and checks its report.
#
# Exit status: 0 ok, 1 failed, 2 usage, 77 (ctest: SKIPPED) when Chromium is
# not installed (Debian: chromium; ./greenbench test installs it). CHROMIUM
# names another Chromium binary.
set -eu

me=report_render
usage() {
    echo "usage: $0 REPORT_HTML [SCREENSHOT_PNG] | --make-run BIN_DIR [SCREENSHOT_PNG]" >&2
    exit 2
}
fail() {
    echo "$me: $*" >&2
    keep=$make_run # the run stays for a look
    exit 1
}

make_run=false
if [ "${1:-}" = --make-run ]; then
    make_run=true
    shift
fi
if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
case "$1" in -*) usage ;; esac
target=$1
shot=${2:-}

chromium=${CHROMIUM:-}
if [ -z "$chromium" ]; then
    for c in chromium chromium-browser google-chrome-stable google-chrome; do
        if command -v "$c" >/dev/null 2>&1; then
            chromium=$c
            break
        fi
    done
fi
if [ -z "$chromium" ] || ! command -v "$chromium" >/dev/null 2>&1; then
    echo "$me: skipped: Chromium is not installed (Debian: apt-get install chromium)"
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/report-render.XXXXXX")
keep=false
cleanup() {
    if $keep; then
        echo "$me: kept $tmp for a look" >&2
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

if $make_run; then
    harness=$target/greenbench
    [ -x "$harness" ] || fail "no harness at $harness"
    echo "$me: a small run with $harness into $tmp/run"
    rc=0
    "$harness" run --workload=switch,spawn --impl=green,threads --switch=asm --reps=2 \
        --out "$tmp/run" >"$tmp/run.log" 2>&1 || rc=$?
    # 1: some repetition failed, and the report is still written; rendering
    # it is what this test checks (the workload tests check the cells).
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
        cat "$tmp/run.log" >&2
        fail "greenbench run exited $rc"
    fi
    [ "$rc" -eq 0 ] || echo "$me: note: greenbench run exited 1 (some repetition failed); checking its report anyway"
    report=$tmp/run/report.html
else
    report=$target
fi
[ -f "$report" ] || fail "'$report' is not a file"
grep -qi '</body>' "$report" || fail "'$report' has no </body>"

# The probe writes its line into a hidden <pre>, so that the screenshot shows
# the report alone. Images that fail are named by their alt text.
probe='<script>
window.addEventListener("load", function () {
  var imgs = document.images, ok = 0, bad = [];
  for (var i = 0; i < imgs.length; i++) {
    if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++;
    else bad.push(JSON.stringify(imgs[i].alt || imgs[i].src.slice(0, 40)));
  }
  var pre = document.createElement("pre");
  pre.id = "gb-img-check";
  pre.style.display = "none";
  pre.textContent = "images=" + imgs.length + " decoded=" + ok +
    " height=" + document.documentElement.scrollHeight + " failed=" + bad.join(",");
  document.body.appendChild(pre);
});
</script>'
page=$tmp/report.html
# Before the last </body> (case-insensitive); the probe goes in as a file so
# that awk does not read escapes in it.
printf '%s\n' "$probe" >"$tmp/probe.js"
awk -v probe="$tmp/probe.js" '
    { line[NR] = $0; if (tolower($0) ~ /<\/body>/) last = NR }
    END {
        for (i = 1; i <= NR; i++) {
            if (i == last) {
                n = index(tolower(line[i]), "</body>")
                printf "%s", substr(line[i], 1, n - 1)
                while ((getline l < probe) > 0) print l
                print substr(line[i], n)
            } else print line[i]
        }
    }' "$report" >"$page"

# headless ARGS...: Chromium headless, with a throwaway profile and HOME, nothing
# fetched from the network, bounded in time.
headless() {
    profile=$(mktemp -d "$tmp/profile.XXXXXX")
    HOME=$tmp XDG_CONFIG_HOME=$tmp/.config XDG_CACHE_HOME=$tmp/.cache \
        timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --disable-dev-shm-usage --hide-scrollbars --user-data-dir="$profile" \
        --virtual-time-budget=10000 "$@" 2>>"$tmp/chromium.log"
}

url=file://$page
headless --dump-dom "$url" >"$tmp/dom.html" || {
    cat "$tmp/chromium.log" >&2
    fail "$chromium --dump-dom failed"
}
line=$(grep -o 'images=[0-9][0-9]* decoded=[0-9][0-9]* height=[0-9][0-9]* failed=[^<]*' "$tmp/dom.html" | head -n 1 || true)
if [ -z "$line" ]; then
    tail -n 30 "$tmp/chromium.log" >&2
    fail "no result from the page's probe (did the load event fire?)"
fi
images=$(printf '%s\n' "$line" | sed 's/^images=\([0-9]*\).*/\1/')
decoded=$(printf '%s\n' "$line" | sed 's/.* decoded=\([0-9]*\).*/\1/')
height=$(printf '%s\n' "$line" | sed 's/.* height=\([0-9]*\).*/\1/')
failed=$(printf '%s\n' "$line" | sed 's/.* failed=//; s/&quot;/"/g')
echo "$me: $report: $images images, $decoded decoded"

if [ -n "$shot" ]; then
    # The whole page: as tall as the document, within what Chromium draws.
    [ "$height" -ge 600 ] 2>/dev/null || height=600
    [ "$height" -le 30000 ] || height=30000
    rm -f "$shot"
    headless --screenshot="$shot" --window-size=1280,"$height" "$url" >/dev/null || true
    if [ -s "$shot" ]; then
        echo "$me: screenshot (1280x$height): $shot"
    else
        tail -n 30 "$tmp/chromium.log" >&2
        fail "no screenshot written to $shot"
    fi
fi

[ "$images" -ge 1 ] || fail "$report has no <img>: no plots were embedded"
[ "$decoded" -eq "$images" ] || fail "$((images - decoded)) of $images images did not decode: $failed"
