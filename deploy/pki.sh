#!/usr/bin/env bash
# Certificates floodgate needs, made with the openssl CLI, in kubeadm's layout.
# Existing files are reused; nothing is overwritten without --force.
#
#   pki.sh [--dir DIR] [--force] serving [--names N1,N2] [--ips IP1,IP2]
#       floodgate's serving certificate (floodgate.crt/key), signed by the
#       cluster CA (ca.crt/ca.key), for the apiserver's names and IPs.
#   pki.sh [--dir DIR] [--force] front-proxy
#       the front-proxy client certificate floodgate asserts identities with
#       (front-proxy-client.crt/key, CN front-proxy-client), signed by
#       front-proxy-ca.crt/key. kubeadm already makes one; it is reused.
#   pki.sh [--dir DIR] [--force] client NAME [GROUP...]
#       a client certificate NAME.crt/key (CN=NAME, O=GROUP...) signed by the
#       cluster CA, e.g. a break-glass admin in system:masters.
#   pki.sh [--dir DIR] kubeconfig --server URL --user NAME [--out FILE]
#       a kubeconfig for client certificate NAME against URL.
#   pki.sh --test DIR
#       a throwaway PKI for tests and the demo: a cluster CA, serving
#       certificates for localhost/127.0.0.1/::1, a front-proxy CA and client,
#       service-account signing keys (RSA and ECDSA), an admin, a node, a user,
#       and a client certificate from an unrelated CA.
#
# DIR defaults to /etc/kubernetes/pki.
set -euo pipefail

dir=/etc/kubernetes/pki
force=0
days=365

die() {
    echo "pki.sh: $*" >&2
    exit 1
}

usage() {
    sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

# exists FILE...: true when every FILE exists; refuses a partial set.
exists() {
    local have=0 f
    for f in "$@"; do
        [ -e "$dir/$f" ] && have=$((have + 1))
    done
    if [ "$have" -eq "$#" ] && [ "$force" -eq 0 ]; then
        return 0
    fi
    if [ "$have" -gt 0 ] && [ "$force" -eq 0 ]; then
        die "$dir: some of $* exist, some do not; refusing to overwrite without --force"
    fi
    return 1
}

newkey() { # newkey FILE [rsa]
    if [ "${2:-}" = rsa ]; then
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null
    else
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
    fi
    chmod 600 "$1"
}

ca() { # ca NAME CN
    exists "$1.crt" "$1.key" && { echo "reusing $dir/$1.crt"; return; }
    newkey "$dir/$1.key"
    openssl req -x509 -new -key "$dir/$1.key" -sha256 -days 3650 -subj "/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$dir/$1.crt" 2>/dev/null
    echo "created $dir/$1.crt"
}

# leaf NAME CA SUBJECT EKU [SAN]
leaf() {
    local name=$1 ca=$2 subj=$3 eku=$4 san=${5:-} ext
    exists "$name.crt" "$name.key" && { echo "reusing $dir/$name.crt"; return; }
    [ -r "$dir/$ca.crt" ] && [ -r "$dir/$ca.key" ] || die "$dir/$ca.crt and $ca.key are needed"
    newkey "$dir/$name.key"
    ext=$(mktemp)
    {
        echo "basicConstraints=critical,CA:FALSE"
        echo "keyUsage=critical,digitalSignature,keyEncipherment"
        echo "extendedKeyUsage=$eku"
        [ -n "$san" ] && echo "subjectAltName=$san"
    } >"$ext"
    openssl req -new -key "$dir/$name.key" -subj "$subj" 2>/dev/null |
        openssl x509 -req -CA "$dir/$ca.crt" -CAkey "$dir/$ca.key" -set_serial "0x$(openssl rand -hex 16)" \
            -days "$days" -sha256 -extfile "$ext" -out "$dir/$name.crt" 2>/dev/null
    rm -f "$ext"
    echo "created $dir/$name.crt"
}

san_list() { # san_list NAMES IPS
    local out="" n
    IFS=, read -ra n <<<"$1"
    for x in "${n[@]}"; do [ -n "$x" ] && out="$out${out:+,}DNS:$x"; done
    IFS=, read -ra n <<<"$2"
    for x in "${n[@]}"; do [ -n "$x" ] && out="$out${out:+,}IP:$x"; done
    echo "$out"
}

subject() { # subject CN [O...]: an openssl -subj string, escaping / and =
    local s="" cn=$1 o
    shift
    for o in "$@"; do s="$s/O=${o//\//\\/}"; done
    echo "/CN=${cn//\//\\/}$s"
}

cmd_serving() {
    local names="kubernetes,kubernetes.default,kubernetes.default.svc,localhost,$(hostname)" ips="127.0.0.1,::1"
    while [ $# -gt 0 ]; do
        case $1 in
        --names) names=$2; shift 2 ;;
        --ips) ips=$2; shift 2 ;;
        *) die "serving: unknown option $1" ;;
        esac
    done
    leaf floodgate ca "/CN=floodgate" serverAuth "$(san_list "$names" "$ips")"
}

cmd_front_proxy() {
    [ -r "$dir/front-proxy-ca.crt" ] || ca front-proxy-ca front-proxy-ca
    leaf front-proxy-client front-proxy-ca "/CN=front-proxy-client" clientAuth
}

cmd_client() {
    [ $# -ge 1 ] || die "client: NAME is required"
    local name=$1 file
    shift
    file=${name//[^A-Za-z0-9._-]/_}
    leaf "$file" ca "$(subject "$name" "$@")" clientAuth
}

cmd_kubeconfig() {
    local server="" user="" out=""
    while [ $# -gt 0 ]; do
        case $1 in
        --server) server=$2; shift 2 ;;
        --user) user=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) die "kubeconfig: unknown option $1" ;;
        esac
    done
    [ -n "$server" ] && [ -n "$user" ] || die "kubeconfig: --server and --user are required"
    local file=${user//[^A-Za-z0-9._-]/_}
    [ -r "$dir/$file.crt" ] || die "$dir/$file.crt not found (make it with: pki.sh client $user ...)"
    # kubectl resolves relative paths against the kubeconfig's directory.
    dir=$(cd "$dir" && pwd)
    out=${out:-$dir/$file.kubeconfig}
    [ -e "$out" ] && [ "$force" -eq 0 ] && die "$out exists; refusing to overwrite without --force"
    cat >"$out" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: floodgate
  cluster:
    server: $server
    certificate-authority: $dir/ca.crt
users:
- name: $user
  user:
    client-certificate: $dir/$file.crt
    client-key: $dir/$file.key
contexts:
- name: floodgate
  context: {cluster: floodgate, user: $user}
current-context: floodgate
EOF
    echo "created $out"
}

cmd_test() {
    [ $# -eq 1 ] || die "--test DIR"
    dir=$1
    mkdir -p "$dir"
    ca ca floodgate-test-ca
    leaf apiserver ca "/CN=kube-apiserver" serverAuth "$(san_list kubernetes,localhost 127.0.0.1,::1)"
    cmd_serving --names kubernetes,localhost --ips 127.0.0.1,::1
    cmd_front_proxy
    if ! exists sa.key sa.pub; then
        newkey "$dir/sa.key" rsa
        openssl pkey -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null
    fi
    if ! exists sa-ec.key sa-ec.pub; then
        newkey "$dir/sa-ec.key"
        openssl pkey -in "$dir/sa-ec.key" -pubout -out "$dir/sa-ec.pub" 2>/dev/null
    fi
    cmd_client admin system:masters
    cmd_client system:node:node-1 system:nodes
    cmd_client alice developers
    cmd_client system:kube-controller-manager
    ca other-ca unrelated-ca
    leaf rogue other-ca "/CN=rogue/O=system:masters" clientAuth
}

while [ $# -gt 0 ]; do
    case $1 in
    --dir) dir=$2; shift 2 ;;
    --force) force=1; shift ;;
    --days) days=$2; shift 2 ;;
    --test) shift; cmd_test "$@"; exit 0 ;;
    -h | --help) usage ;;
    *) break ;;
    esac
done
[ $# -ge 1 ] || usage
command -v openssl >/dev/null || die "the openssl command is needed (apt-get install -y openssl)"
mkdir -p "$dir"
sub=$1
shift
case $sub in
serving) cmd_serving "$@" ;;
front-proxy) cmd_front_proxy "$@" ;;
client) cmd_client "$@" ;;
kubeconfig) cmd_kubeconfig "$@" ;;
*) usage ;;
esac
