"""examples/02-data-exploration.ipynb under nbclient, with a real S3 server.

A versitygw (the binary `make tools` builds; $FERRY_VERSITYGW overrides) is
started on a loopback port with a bucket, and the kernel gets its endpoint
and credentials in the AWS_* variables, so the notebook's S3 cells write a
result to S3 and read it back through Ferry's object store.

The kernel must be built with `-tags duckdb_arrow` (DuckDB's Arrow
interface); a binary built without it fails every query, which the first
test reports plainly.
"""

import datetime
import glob
import hashlib
import hmac
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

import ferry_env as fe
from test_examples import EXAMPLES, cell, mimes, run_notebook, stdout

ACCESS, SECRET, REGION, BUCKET = "ferrydemo", "ferrydemosecret0123456789", "us-east-1", "ferry-demo"


def versitygw_path():
    p = os.environ.get("FERRY_VERSITYGW")
    if p and os.access(p, os.X_OK):
        return p
    for p in glob.glob(os.path.expanduser("~/.cache/ferry/tools/versitygw-*/versitygw")):
        if os.access(p, os.X_OK):
            return p
    return shutil.which("versitygw")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_bucket(endpoint, bucket):
    """PUT /bucket signed with AWS Signature V4 (no boto3 in Debian's set)."""
    host = endpoint.split("://", 1)[1]
    now = datetime.datetime.now(datetime.timezone.utc)
    amzdate, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload = hashlib.sha256(b"").hexdigest()
    headers = f"host:{host}\nx-amz-content-sha256:{payload}\nx-amz-date:{amzdate}\n"
    signed = "host;x-amz-content-sha256;x-amz-date"
    request = f"PUT\n/{bucket}\n\n{headers}\n{signed}\n{payload}"
    scope = f"{day}/{REGION}/s3/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{amzdate}\n{scope}\n" + hashlib.sha256(request.encode()).hexdigest()

    def mac(key, msg):
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = mac(mac(mac(mac(("AWS4" + SECRET).encode(), day), REGION), "s3"), "aws4_request")
    sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    req = urllib.request.Request(
        f"{endpoint}/{bucket}",
        method="PUT",
        headers={
            "x-amz-date": amzdate,
            "x-amz-content-sha256": payload,
            "Authorization": f"AWS4-HMAC-SHA256 Credential={ACCESS}/{scope}, SignedHeaders={signed}, Signature={sig}",
        },
    )
    urllib.request.urlopen(req, timeout=10).close()


@pytest.fixture(scope="module")
def s3():
    binary = versitygw_path()
    if not binary:
        pytest.fail("versitygw not found ($FERRY_VERSITYGW, ~/.cache/ferry/tools/versitygw-*/): run `make tools`")
    tmp = tempfile.mkdtemp(prefix="ferry-s3-")
    data, versions = os.path.join(tmp, "data"), os.path.join(tmp, "versions")
    os.makedirs(data)
    os.makedirs(versions)
    port = free_port()
    env = dict(os.environ, ROOT_ACCESS_KEY=ACCESS, ROOT_SECRET_KEY=SECRET)
    proc = subprocess.Popen(
        [binary, "--port", f"127.0.0.1:{port}", "posix", "--versioning-dir", versions, data],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            make_bucket(endpoint, BUCKET)
            break
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise
            time.sleep(0.05)
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "FERRY_DEMO_S3")}
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID=ACCESS, AWS_SECRET_ACCESS_KEY=SECRET,
        AWS_REGION=REGION, FERRY_DEMO_S3=f"s3://{BUCKET}",
    )
    try:
        yield data
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def nb(s3):
    nb, _ = run_notebook(os.path.join(EXAMPLES, "02-data-exploration.ipynb"))
    return nb


def outputs(c, output_type):
    return [o for o in c.outputs if o.output_type == output_type]


def test_kernel_has_duckdb_arrow():
    km, kc = fe.start_kernel()
    try:
        r = fe.execute(kc, "%%sql\nSELECT 42 AS answer")
        text = str(r)
        assert "without DuckDB's Arrow interface" not in text, (
            "the kernel binary was built without -tags duckdb_arrow; build it with "
            "`go build -tags duckdb_arrow -o bin/ ./cmd/ferry ./cmd/ferry-kernel`"
        )
        assert r.status == "ok", text
    finally:
        fe.stop_kernel(km, kc)


def test_sql_on_local_parquet(nb):
    (res,) = outputs(cell(nb, "sql-file"), "execute_result")
    html = res.data["text/html"]
    # Only the first rows go to the browser, with the row count and types.
    assert html.count("<tr>") - 1 == 5, html
    assert "first 5 of 200000 rows × 6 columns" in html
    assert "timestamp" in html and "trips" in html
    assert stdout(cell(nb, "go-rows")).startswith("200000 rows; [trip_id vendor distance_km pickup passengers fare]")


def test_describe_hist_scatter(nb):
    (d,) = outputs(cell(nb, "describe"), "execute_result")
    text = d.data["text/plain"]
    for col in ("trip_id", "vendor", "distance_km", "pickup", "passengers", "fare"):
        assert col in text, text
    assert "200000 rows" in text
    (h,) = outputs(cell(nb, "hist"), "execute_result")
    spec = h.data["application/vnd.vegalite.v5+json"]
    assert spec["mark"]["type"] == "bar" and len(spec["data"]["values"]) == 25
    assert sum(v["count"] for v in spec["data"]["values"]) == 200000
    (s,) = outputs(cell(nb, "scatter"), "execute_result")
    spec = s.data["application/vnd.vegalite.v5+json"]
    assert spec["mark"]["type"] == "point" and 0 < len(spec["data"]["values"]) <= 5000
    assert spec["encoding"]["color"]["field"] == "color"


def test_join_with_go_values(nb):
    (j,) = outputs(cell(nb, "join"), "execute_result")
    text = j.data["text/plain"]
    for name in ("Aurora Cabs", "Bluebird", "Comet", "Dart"):
        assert name in text, text
    assert "4 rows × 4 columns" in text
    out = stdout(cell(nb, "structs"))
    assert out.startswith("4 vendors, ") and out.endswith("top: Aurora Cabs\n"), out
    assert stdout(cell(nb, "go-describe")).startswith("fare: mean ")


def test_s3_write_and_read_back(nb, s3):
    assert stdout(cell(nb, "s3-write")) == f"read back 4 rows from s3://{BUCKET}/by_vendor.parquet\n"
    # The objects are on the server.
    assert os.path.getsize(os.path.join(s3, BUCKET, "by_vendor.parquet")) > 0
    assert os.path.getsize(os.path.join(s3, BUCKET, "trips.parquet")) > 0
    (d,) = outputs(cell(nb, "s3-read"), "display_data")
    assert "4 rows × 3 columns" in d.data["text/plain"]
    assert "text/html" in mimes(cell(nb, "s3-read"), "display_data")


def test_error_names_missing_file(nb):
    (err,) = outputs(cell(nb, "err-missing"), "error")
    assert err.ename == "SQLError"
    assert "file not found: no-such-file.parquet" in fe.strip_ansi("\n".join(err.traceback))


def test_long_query_shows_progress_and_stops_on_interrupt():
    """A query over 10^12 rows: %%sql shows its elapsed time after a second,
    and an interrupt cancels the query's context (DuckDB stops it)."""
    km, kc = fe.start_kernel()
    try:
        msg_id = kc.execute("%%sql\nSELECT sum(hash(a.range * b.range)) FROM range(1000000) a, range(1000000) b")
        deadline = time.monotonic() + 30
        shown = None
        while shown is None:
            assert time.monotonic() < deadline, "no progress display in 30 s"
            try:
                msg = kc.get_iopub_msg(timeout=1)
            except Exception:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "display_data" and "query running" in msg["content"]["data"].get("text/plain", ""):
                shown = msg["content"]["transient"]["display_id"]
        km.interrupt_kernel()
        reply = fe.shell_reply(kc, msg_id, "execute_reply", timeout=10)
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] in ("Interrupted", "KeyboardInterrupt"), reply["content"]
        fe.drain(kc)
        r = fe.execute(kc, "%%sql\nSELECT 6 * 7 AS answer")
        assert r.status == "ok" and "42" in str(r), r
    finally:
        fe.stop_kernel(km, kc)
