"""Dask over TLS: --tls-ca/--tls-cert/--tls-key build Dask's Security object; a TLS-only
scheduler is reached with them, refused without them, and gives the serial table."""

from __future__ import annotations

import shutil
import subprocess

import pandas as pd
import pytest

from govsim.cli import main
from govsim.experiment import load_experiment, run_experiment

pytest.importorskip("distributed")
pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")

TINY = 'name = "tiny"\nregime = "hybrid"\nsteps = 5\nseed = 1\n\n[population]\nhouseholds = 50\n'
EXP = ('name = "tls"\nscenario = "tiny.toml"\nregimes = ["hybrid", "government_led"]\nreplicates = 2\n'
       'metrics = ["mean_participation_rate", "resolution_rate"]\n')


def make_certs(d):
    """A throw-away CA and one certificate for localhost signed by it (valid one day)."""
    def ssl(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=60)

    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem",
        "-days", "1", "-subj", "/CN=govsim-test-ca")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "req.csr", "-subj", "/CN=localhost")
    (d / "ext.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    ssl("x509", "-req", "-in", "req.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
        "-out", "cert.pem", "-days", "1", "-extfile", "ext.cnf")
    return d / "ca.pem", d / "cert.pem", d / "key.pem"


def test_sweep_on_a_tls_dask_cluster(tmp_path, capsys):
    from distributed import LocalCluster
    from distributed.security import Security

    ca, cert, key = make_certs(tmp_path)
    (tmp_path / "tiny.toml").write_text(TINY)
    exp_path = tmp_path / "exp.toml"
    exp_path.write_text(EXP)
    sec = Security(tls_ca_file=str(ca), tls_scheduler_cert=str(cert), tls_scheduler_key=str(key),
                   tls_worker_cert=str(cert), tls_worker_key=str(key), tls_client_cert=str(cert),
                   tls_client_key=str(key), require_encryption=True)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, protocol="tls://", security=sec,
                      dashboard_address=None, host="127.0.0.1") as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tls://")
        tls = ["--tls-ca", str(ca), "--tls-cert", str(cert), "--tls-key", str(key)]
        base = ["sweep", str(exp_path), "--backend", "dask", "--quiet", "--no-report"]
        assert main([*base, "--out", str(tmp_path / "tls"), "--address", address, *tls]) == 0
        capsys.readouterr()
        # the same scheduler without TLS: one line, exit 2, nothing run
        plain = address.replace("tls://", "tcp://")
        assert main([*base, "--out", str(tmp_path / "plain"), "--address", plain]) == 2
        line = capsys.readouterr().err.strip().splitlines()[-1]
        assert line.startswith("govsim: error: --address tcp://") and "cannot connect" in line
    serial = run_experiment(load_experiment(exp_path), tmp_path / "serial", backend="serial", progress=False)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "tls" / "results.parquet"), serial)
