-- wrk script for bench/run's upload case: every request is a POST with a
-- 1 MiB body (wrk adds its Content-Length); the backend answers "ok".
wrk.method = "POST"
wrk.body = string.rep("x", 1048576)
wrk.headers["Content-Type"] = "application/octet-stream"
