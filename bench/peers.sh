#!/bin/sh
# whowaits against its peers on the same trees, as ratios (median of paired runs, farm-bench).
#
#   sh bench/peers.sh LLM_TREE DJANGO_TREE ONE_FILE
#
# LLM_TREE: the repositories of ../shared/corpus exported side by side (corpus/export.py);
# DJANGO_TREE: an unpacked Django source release (2,800 .py files, no LLM code);
# ONE_FILE: a file inside LLM_TREE, for the pre-commit case (one staged file, warm cache); the
# edited-file case appends comment lines to it, so pass a file of a copy of the tree.
# Needs farm-bench, ruff, semgrep and agentguard-lint (`agentguard`) on PATH; none of them is a
# dependency of whowaits. Runs with --jobs 2 where a tool has the option: the reference machine
# has 2 cores. Read the MEDIAN ratio; min and max say how noisy the machine was.
set -eu
TREE=$1
DJANGO=$2
ONE=$3
WW="whowaits check --exit-zero -q --jobs 2"
SEMGREP_RULE='$C.messages.create(...)'

cold() { rm -rf "$1/.whowaits_cache"; }

echo "== cold, LLM tree: whowaits vs semgrep (one pattern)"
cold "$TREE"
farm-bench -n 3 --timeout 1800 --vs "semgrep scan --metrics=off --disable-version-check --jobs 2 --quiet --lang python -e $SEMGREP_RULE $TREE" \
    -- $WW --no-cache "$TREE"

echo "== cold, LLM tree: whowaits vs agentguard-lint"
farm-bench -n 3 --timeout 900 --vs "agentguard --no-costs --plain --fail-on never $TREE" -- $WW --no-cache "$TREE"

echo "== cold, LLM tree: whowaits vs ruff --select E9,F --no-cache"
farm-bench -n 3 --timeout 900 --vs "ruff check --select E9,F --no-cache --exit-zero -q $TREE" -- $WW --no-cache "$TREE"

echo "== warm, LLM tree: whowaits (run cache filled) vs ruff (its cache filled)"
$WW "$TREE" >/dev/null
ruff check --select E9,F --exit-zero -q "$TREE" >/dev/null
farm-bench -n 10 --vs "ruff check --select E9,F --exit-zero -q $TREE" -- $WW "$TREE"

echo "== one staged file, warm cache (pre-commit): whowaits vs ruff"
$WW "$ONE" >/dev/null
farm-bench -n 10 --vs "ruff check --select E9,F --exit-zero -q $ONE" -- $WW "$ONE"

echo "== one staged file just edited, warm cache (pre-commit after an edit): whowaits vs ruff"
# Each run appends a comment to the file first, so every run sees it changed; run on a copy.
EDIT="echo '# edited' >> $ONE"
farm-bench -n 10 --vs "sh -c \"$EDIT; ruff check --select E9,F --exit-zero -q $ONE\"" -- sh -c "$EDIT; $WW $ONE"

echo "== cold, Django: whowaits vs ruff --select E9,F --no-cache"
cold "$DJANGO"
farm-bench -n 3 --timeout 900 --vs "ruff check --select E9,F --no-cache --exit-zero -q $DJANGO" -- $WW --no-cache "$DJANGO"
