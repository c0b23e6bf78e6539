"""A stand-in identity provider: only the OpenID discovery document, over TLS, for authlib to build a login URL.

`python -m boot.idp METADATA_URL CERT KEY` serves the document at the metadata URL's path on 127.0.0.1:443
(the namespace's /etc/hosts points the issuer's host here). No token is ever issued.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import urlsplit

WELL_KNOWN = "/.well-known/openid-configuration"


def discovery(metadata_url: str) -> dict[str, object]:
    issuer = metadata_url.removesuffix(WELL_KNOWN)
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/protocol/openid-connect/auth",
        "token_endpoint": f"{issuer}/protocol/openid-connect/token",
        "userinfo_endpoint": f"{issuer}/protocol/openid-connect/userinfo",
        "jwks_uri": f"{issuer}/protocol/openid-connect/certs",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }


def certificate_authority(directory: Path, host: str) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for `host` signed by it: (ca.crt, server.crt, server.key)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_crt = directory / "ca.key", directory / "ca.crt"
    key, csr, crt = directory / "server.key", directory / "server.csr", directory / "server.crt"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run = lambda argv: subprocess.run(argv, check=True, capture_output=True)  # noqa: E731
    run(
        [
            "openssl",
            "req",
            "-x509",
            *ec,
            "-days",
            "2",
            "-subj",
            "/CN=boot test CA",
            "-keyout",
            str(ca_key),
            "-out",
            str(ca_crt),
        ]
    )
    run(["openssl", "req", *ec, "-subj", f"/CN={host}", "-keyout", str(key), "-out", str(csr)])
    extensions = directory / "san.ext"
    extensions.write_text(f"subjectAltName=DNS:{host}\n")
    run(
        [
            "openssl",
            "x509",
            "-req",
            "-in",
            str(csr),
            "-CA",
            str(ca_crt),
            "-CAkey",
            str(ca_key),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            str(extensions),
            "-out",
            str(crt),
        ]
    )
    return ca_crt, crt, key


def main() -> None:
    metadata_url, cert, key = sys.argv[1:4]
    body = json.dumps(discovery(metadata_url)).encode()
    path = urlsplit(metadata_url).path

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != path:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = HTTPServer(("127.0.0.1", 443), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
