//! VERIFY.md: the checks `passage verify` makes, as shell an auditor runs with stock tools.
//!
//! Every command sits in a ```sh block and fails (non-zero, under `set -e`) when its check
//! fails, so the blocks run as one script: the tests extract them and run them literally.

/// Steps every bundle has. `@TENANT@` is replaced with the bundle's tenant.
const COMMON: &str = r#"# Verifying this Passage evidence bundle

Needs only bash, `openssl`, `jq` and `sha256sum` (on macOS `shasum -a 256` does the same; the
first block picks whichever is there).

First get the published key set of tenant `@TENANT@` from somewhere other than whoever handed
you this bundle: `GET /v1/tenants/@TENANT@/keys.json` on the Passage server, the `key_set` of an
auditor link's listing, or `passage keys export --tenant @TENANT@` from its operator. A key
inside the bundle proves nothing about who signed: anyone can re-sign an edited bundle with a
key of their own. Save the set outside this directory (the steps read `../keys.json`; set `KEYS`
to read another path).

Run the blocks below in order, in bash, in this directory. They stop at the first failed check
(`set -e`), so paste them into a fresh `bash`, or run them all at once:

    awk '/^```sh$/{f=1;next} /^```$/{f=0} f' VERIFY.md | bash

1. The tools, and where the key set is:

```sh
set -euo pipefail
if command -v sha256sum >/dev/null; then sha256() { sha256sum "$@"; }; else sha256() { shasum -a 256 "$@"; }; fi
KEYS="${KEYS:-../keys.json}"
```

2. The signing key is one the tenant published, and this bundle was signed while it was valid
   (prints `true`):

```sh
fp=$(openssl pkey -pubin -in signing-key.pem -outform DER | sha256 | cut -d' ' -f1)
test "$(jq -r .signing.public_key_sha256 manifest.json)" = "$fp"
jq -e --arg fp "$fp" --arg at "$(jq -r .created_at manifest.json)" '
  def t: sub("\\.[0-9]+"; "") | fromdateiso8601;
  .tenant == "@TENANT@" and any(.keys[]; .key_sha256 == $fp
    and (.valid_from == null or (.valid_from | t) <= ($at | t))
    and (.valid_until == null or ($at | t) <= (.valid_until | t)))' "$KEYS"
```

3. The statement is signed by that key (prints `Verified OK`):

```sh
openssl dgst -sha256 -verify signing-key.pem -signature statement.sig statement.txt
```

4. The manifest is the one the statement names, for this tenant:

```sh
test "$(grep '^manifest-sha256 ' statement.txt | cut -d' ' -f2)" = "$(sha256 manifest.json | cut -d' ' -f1)"
test "$(grep '^tenant ' statement.txt | cut -d' ' -f2)" = "@TENANT@"
```

5. Every file is the one the manifest names (every line `OK`):

```sh
jq -r '.files[] | "\(.sha256)  \(.path)"' manifest.json | sha256 -c -
```

6. No file was added: the files on disk are exactly those the manifest lists, plus the manifest,
   the statement, its signature, the public key and the statement's timestamp (no output):

```sh
diff <(find . -type f | sed 's|^\./||' | LC_ALL=C sort) \
  <({ jq -r '.files[].path' manifest.json; printf '%s\n' manifest.json statement.txt statement.sig signing-key.pem; if [ -e statement.tsr ]; then echo statement.tsr; fi; } | LC_ALL=C sort)
```

7. When the bundle carries a timestamp from a timestamp authority (`statement.tsr`, RFC 3161,
   over the signature), it verifies against that authority's CA certificate, which you get
   from the authority and name in `TSA_CA` (prints `Verification: OK`):

```sh
if [ -e statement.tsr ]; then openssl ts -verify -data statement.sig -in statement.tsr -CAfile "${TSA_CA:?set TSA_CA to the timestamp authority CA certificate}"; fi
```
"#;

/// The extra step of a key rotation link.
const ROTATION: &str = r#"
8. This is a key rotation: the key above hands the tenant's chain to the key in `next-key.pem`,
   which signs every later bundle. Its fingerprint is the one the manifest names:

```sh
test "$(openssl pkey -pubin -in next-key.pem -outform DER | sha256 | cut -d' ' -f1)" = "$(jq -r .rotation.next_key_sha256 manifest.json)"
```
"#;

/// The chain, which needs more than one bundle.
const CHAIN: &str = r#"
The bundle's place in the tenant's hash chain: `prev_manifest_sha256` equals the SHA-256 of
the manifest of the bundle one sequence lower (64 zeros for the first), and each bundle is
signed by the same key as the one before it, unless that one is a key rotation, whose
`next-key.pem` signs from then on.

```sh
jq -r '"sequence \(.sequence), previous manifest \(.prev_manifest_sha256)"' manifest.json
echo "bundle checks passed"
```

A chain alone cannot show that its newest bundles were withheld. Passage signs checkpoints of
each tenant's chain head (`passage keys checkpoint`, and with every auditor link's listing);
the newest bundle you were given must reach the checkpoint's sequence. To check a checkpoint
file by hand, with the key set's key whose fingerprint it names saved as `key.pem`:

    jq -r .checkpoint checkpoint.json > checkpoint.txt
    jq -r .signature checkpoint.json | openssl base64 -d -A > checkpoint.sig
    openssl dgst -sha256 -verify key.pem -signature checkpoint.sig checkpoint.txt

`passage verify --trusted-keys keys.json --checkpoint checkpoint.json <bundle-dir>...` makes all
of these checks, the chain's and the keys' continuity across every bundle given, in one command.
"#;

pub(crate) fn verify_instructions(tenant: &str, rotation: bool) -> String {
    let mut text = COMMON.replace("@TENANT@", tenant);
    if rotation {
        text.push_str(ROTATION);
    }
    text.push_str(CHAIN);
    text
}
