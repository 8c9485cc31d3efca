# Sourced by scripts/pam-bench.sh and scripts/pam-valgrind.sh (which define fail): scratch
# directories and `mamori-agent run --only auth` processes rooted in them, all removed on exit.
# Usage: pam_scratch NAME (sets WORK); pam_scratch_in PARENT NAME (sets SCRATCH, another scratch
# directory); pam_start_agent BIN ROOTDIR (sets AGENT_SOCKET); pam_import_hotp BIN DIR SECRET_B64 (the
# benchmarks' HOTP token, counter 0, imported as a PSKC key for root as user `bench`).
pam_scratch() {
  WORK="$(mktemp -d "/tmp/mamori-$1-XXXXXX")"
  SCRATCH_DIRS=("$WORK")
  AGENT_PIDS=()
  trap pam_cleanup EXIT
}

pam_scratch_in() {
  SCRATCH="$(mktemp -d "$1/mamori-$2-XXXXXX")"
  SCRATCH_DIRS+=("$SCRATCH")
}

pam_cleanup() {
  set +e
  for pid in "${AGENT_PIDS[@]}"; do kill "$pid"; wait "$pid" 2>/dev/null; done
  rm -rf "${SCRATCH_DIRS[@]}"
}

pam_start_agent() {
  "$1/mamori-agent" run --root "$2/agent" --only auth >"$2/agent.log" 2>&1 &
  AGENT_PIDS+=($!)
  AGENT_SOCKET="$2/agent/run/mamori/pam.sock"
  for _ in $(seq 400); do [ -S "$AGENT_SOCKET" ] && break; sleep 0.05; done
  [ -S "$AGENT_SOCKET" ] || fail "the agent did not start: $(cat "$2/agent.log")"
  mkdir -p "$2/pam.d"
}

pam_import_hotp() { # BIN DIR SECRET_B64
  cat >"$2/token.pskc" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"><KeyPackage>
  <DeviceInfo><SerialNo>bench</SerialNo></DeviceInfo>
  <Key Id="1" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
    <AlgorithmParameters><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters>
    <Data><Secret><PlainValue>$3</PlainValue></Secret><Counter><PlainValue>0</PlainValue></Counter></Data>
  </Key>
</KeyPackage></KeyContainer>
XML
  "$1/mamorictl" mfa import-pskc "$2/token.pskc" --root "$2/agent" --user bench=root >/dev/null
}
