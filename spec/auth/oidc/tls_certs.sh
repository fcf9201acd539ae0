#!/bin/sh
# spec/auth/oidc/tls_certs.sh DIR: a throwaway CA and a certificate for IP
# 127.0.0.1 signed by it, made at test time (never committed): DIR/ca.pem
# (what node, curl and mcptest are told to trust), DIR/cert.pem and
# DIR/key.pem (what server.mjs --tls serves). P-256 keys, valid for 1 day.
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj "/CN=mcptest spec throwaway CA" -keyout ca.key -out ca.pem \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
  -keyout key.pem -out server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >ext.cnf
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
  -extfile ext.cnf -out cert.pem 2>/dev/null
rm -f server.csr ext.cnf ca.srl ca.key
chmod 600 key.pem
