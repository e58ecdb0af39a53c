#!/usr/bin/env bash
# Make sure the local PostgreSQL and Redis the integration pass uses are up (start them if we can).
# --check: only report (exit 1 when either is unreachable).
set -u
PG_HOST=127.0.0.1; PG_PORT=5432; REDIS_PORT=6379
pg_up()    { (exec 3<>/dev/tcp/$PG_HOST/$PG_PORT) 2>/dev/null; }
redis_up() { [ "$( (exec 3<>/dev/tcp/127.0.0.1/$REDIS_PORT && printf 'PING\r\n' >&3 && head -c 5 <&3) 2>/dev/null)" = "+PONG" ]; }

if [ "${1:-}" != "--check" ]; then
  if ! pg_up && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >/dev/null 2>&1 || true
    for _ in $(seq 1 30); do pg_up && break; sleep 0.5; done
  fi
  if ! redis_up && command -v redis-server >/dev/null 2>&1; then
    echo "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port $REDIS_PORT --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null 2>&1 || true
    for _ in $(seq 1 30); do redis_up && break; sleep 0.3; done
  fi
fi
ok=0
pg_up || { echo "PostgreSQL is not reachable on $PG_HOST:$PG_PORT"; ok=1; }
redis_up || { echo "Redis is not reachable on 127.0.0.1:$REDIS_PORT"; ok=1; }
exit $ok
