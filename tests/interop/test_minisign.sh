#!/usr/bin/env bash
# test_minisign.sh — interop with the real minisign binary, both ways, and
# every way a signature must fail.
source "$(dirname "$0")/../lib.sh"
cd "$TMP" || exit 1
unset PATCHCAST_PASSWORD

command -v minisign >/dev/null || { fail setup "minisign is not installed (make deps)"; finish; }

head -c 300000 /dev/urandom >data.bin
printf 'hello\n' >small.txt

# --- minisign's keys and signatures verify in patchcast -----------------------
minisign -G -W -p m.pub -s m.key >/dev/null 2>&1 || fail setup "minisign -G -W"
minisign -S -s m.key -m data.bin -t "minisign made this" >/dev/null 2>&1 || fail setup "minisign -S"
check minisign_sig_verifies "$PC" verify -p m.pub -m data.bin
out=$("$PC" verify -p m.pub -m data.bin 2>&1)
if echo "$out" | grep -q "^Trusted comment: minisign made this$"; then pass trusted_comment_returned
else fail trusted_comment_returned "got: $out"; fi
check minisign_sig_verifies_with_P "$PC" verify -P "$(tail -n 1 m.pub)" -m data.bin
out=$("$PC" verify -Q -p m.pub -m data.bin)
[ "$out" = "minisign made this" ] && pass quiet_Q_prints_comment || fail quiet_Q_prints_comment "got '$out'"

# --- patchcast's signatures verify in minisign --------------------------------
"$PCGEN" keygen -W -p p.pub -s p.key >/dev/null || fail setup "patchcast-gen keygen -W"
"$PCGEN" sign -s p.key -m data.bin -x data.bin.pc.minisig -t "patchcast made this" ||
    fail setup "patchcast-gen sign"
check patchcast_sig_verifies_in_minisign minisign -V -p p.pub -m data.bin -x data.bin.pc.minisig
check patchcast_sig_verifies_in_patchcast "$PC" verify -p p.pub -m data.bin -x data.bin.pc.minisig
# minisign signs with a key made by patchcast-gen keygen (unencrypted).
minisign -S -W -s p.key -m small.txt >/dev/null 2>&1 &&
    pass minisign_signs_with_patchcast_key || fail minisign_signs_with_patchcast_key "minisign -S -W -s p.key failed"
check minisign_sig_from_pc_key_verifies "$PC" verify -p p.pub -m small.txt
# patchcast-gen signs with a key made by minisign -G -W (unencrypted; it
# carries no checksum).
minisign -G -W -p mw.pub -s mw.key >/dev/null 2>&1 || fail setup "minisign -G -W"
check patchcast_signs_with_minisign_unencrypted_key "$PCGEN" sign -s mw.key -m small.txt -x small.mw.minisig
check minisign_unencrypted_key_sig_verifies minisign -V -p mw.pub -m small.txt -x small.mw.minisig
# Default trusted comment, as minisign writes it.
"$PCGEN" sign -s p.key -m small.txt
tc=$(sed -n 3p small.txt.minisig)
if [[ $tc =~ ^trusted\ comment:\ timestamp:[0-9]+$'\t'file:small.txt$'\t'hashed$ ]]; then
    pass default_trusted_comment
else fail default_trusted_comment "got '$tc'"; fi
check default_sig_verifies_in_minisign minisign -V -p p.pub -m small.txt

# --- encrypted keys -----------------------------------------------------------
echo "s3cret pass" >pw.txt
"$PCGEN" keygen -p e.pub -s e.key --password-file pw.txt >/dev/null 2>&1 || fail setup "keygen encrypted"
if grep -q "encrypted secret key" e.key && [ "$(stat -c %a e.key)" = 600 ]; then pass keygen_encrypted_0600
else fail keygen_encrypted_0600 "header or mode wrong: $(head -1 e.key) $(stat -c %a e.key)"; fi
printf 's3cret pass\n' | minisign -S -s e.key -m small.txt -x small.e.minisig >/dev/null 2>&1 &&
    pass minisign_decrypts_patchcast_key || fail minisign_decrypts_patchcast_key "minisign -S with e.key"
check minisign_sig_with_encrypted_pc_key "$PC" verify -p e.pub -m small.txt -x small.e.minisig
printf 'minisign pw\nminisign pw\n' | minisign -G -p me.pub -s me.key >/dev/null 2>&1 || fail setup "minisign -G encrypted"
PATCHCAST_PASSWORD="minisign pw" "$PCGEN" sign -s me.key -m data.bin -x data.me.minisig &&
    pass patchcast_decrypts_minisign_key || fail patchcast_decrypts_minisign_key "sign with me.key failed"
check patchcast_sig_with_minisign_key_verifies minisign -V -p me.pub -m data.bin -x data.me.minisig
check_fails wrong_password "wrong password for secret key me.key" \
    env PATCHCAST_PASSWORD="not it" "$PCGEN" sign -s me.key -m data.bin -x wrong.minisig
[ ! -e wrong.minisig ] && pass wrong_password_writes_nothing || fail wrong_password_writes_nothing "wrong.minisig exists"
check_fails no_password_no_tty "no terminal to ask on" \
    setsid "$PCGEN" sign -s me.key -m data.bin -x none.minisig </dev/null

# --- failures: each must be refused, by both tools where both apply ---------
cp data.bin changed.bin
printf '\x01' | dd of=changed.bin bs=1 seek=1000 conv=notrunc status=none
cp data.bin.minisig changed.bin.minisig
check_fails one_byte_change_patchcast "content does not match" "$PC" verify -p m.pub -m changed.bin
check_fails one_byte_change_minisign "verification failed" minisign -V -p m.pub -m changed.bin
cp data.bin.pc.minisig changed.bin.minisig
check_fails one_byte_change_pc_sig_patchcast "content does not match" "$PC" verify -p p.pub -m changed.bin
check_fails one_byte_change_pc_sig_minisign "verification failed" minisign -V -p p.pub -m changed.bin

sed '3s/.*/trusted comment: minisign made THIS/' data.bin.minisig >tc.minisig
check_fails tampered_trusted_comment "trusted comment does not match" \
    "$PC" verify -p m.pub -m data.bin -x tc.minisig
check_fails tampered_trusted_comment_minisign "Comment signature verification failed" \
    minisign -V -p m.pub -m data.bin -x tc.minisig

check_fails wrong_key_id "signed with key id" "$PC" verify -p p.pub -m data.bin
"$PC" verify -p p.pub -m data.bin >/dev/null 2>&1; rc=$?
[ "$rc" = 3 ] && pass verify_failure_exit_3 || fail verify_failure_exit_3 "exit $rc"

head -n 2 data.bin.minisig >trunc.minisig
check_fails truncated_sig_file "expected 4 lines" "$PC" verify -p m.pub -m data.bin -x trunc.minisig
head -c 60 data.bin.minisig >trunc2.minisig
check_fails truncated_mid_line "expected 4 lines|invalid base64" "$PC" verify -p m.pub -m data.bin -x trunc2.minisig
{ cat data.bin.minisig; head -c 20000 /dev/zero | tr '\0' 'A'; } >big.minisig
check_fails oversized_sig_file "larger than a signature file" "$PC" verify -p m.pub -m data.bin -x big.minisig
head -c 300 /dev/urandom >garbage.minisig
check_fails garbage_sig_file "not a signature file|expected|invalid" "$PC" verify -p m.pub -m data.bin -x garbage.minisig
printf '' >empty.minisig
check_fails empty_sig_file "empty signature file" "$PC" verify -p m.pub -m data.bin -x empty.minisig
sed '2s/^R/Q/' data.bin.minisig >alg.minisig
check_fails bad_signature_line "unknown signature algorithm|invalid base64" "$PC" verify -p m.pub -m data.bin -x alg.minisig
check_fails missing_sig_file "No such file" "$PC" verify -p m.pub -m data.bin -x nothing.minisig
printf 'untrusted comment: x\nnot base64 at all\n' >bad.pub
check_fails bad_public_key "bad.pub: public key: invalid base64" "$PC" verify -p bad.pub -m data.bin

# --- legacy (non-prehashed) signatures -----------------------------------------
minisign -S -l -s m.key -m small.txt -x legacy.minisig >/dev/null 2>&1 || fail setup "minisign -S -l"
check_fails legacy_refused "legacy .*signature refused" "$PC" verify -p m.pub -m small.txt -x legacy.minisig
check legacy_allowed_explicitly "$PC" verify --allow-legacy -p m.pub -m small.txt -x legacy.minisig
cp small.txt small2.txt; echo x >>small2.txt
check_fails legacy_tampered "content does not match" "$PC" verify --allow-legacy -p m.pub -m small2.txt -x legacy.minisig

# --- key files are not overwritten ----------------------------------------------
check_fails keygen_no_overwrite "already exists" "$PCGEN" keygen -W -p p.pub -s p.key
check keygen_force_overwrite "$PCGEN" keygen -W -f -p p.pub -s p.key
check_fails usage_error "required" "$PC" verify -m data.bin
finish
