"""botocore's adaptive retry mode on a scripted run (spec/adaptive_spec.lua).

    /usr/bin/python3 spec/support/adaptive_botocore.py > spec/fixtures/adaptive/botocore.json

Drives botocore.retries.adaptive.ClientRateLimiter (with its CUBIC
calculator, token bucket and rate clocker, built as register_retry_handler
builds them) on a fake clock through a fixed list of events:

    {"t": seconds, "send": true}         an attempt about to be sent
    {"t": seconds, "throttled": bool}    a response

For a send the limiter's wait is what the bucket is short of a token
divided by its rate (0 before the first throttle or when a token is
there); the clock then moves on by that wait and the token is taken, as
TokenBucket.acquire does after sleeping.  An event's t is never before the
clock (a send's wait may push the clock past the next event's t).  Each
event is written back with the state after it: wait, enabled, rate (the
bucket's max_rate), capacity, measured (the measured send rate), w_max, k,
last_fail.
"""
import json
import sys

from botocore.retries import adaptive, bucket, throttling


class FakeClock:
    def __init__(self, t):
        self.t = t

    def current_time(self):
        return self.t

    def sleep(self, amount):
        self.t += amount


class Detector:
    """The response's throttled flag stands for the error-code check."""

    def is_throttling_error(self, **kwargs):
        return kwargs["throttled"]


def events():
    out = []
    t = 1000.25
    # 40 calls at 10 per second, all fine: nothing is limited
    for _ in range(40):
        out.append({"t": round(t, 6), "send": True})
        out.append({"t": round(t + 0.05, 6), "throttled": False})
        t += 0.1
    # a throttle, then 30 calls as fast as the bucket lets them go
    out.append({"t": round(t, 6), "send": True})
    out.append({"t": round(t + 0.05, 6), "throttled": True})
    t += 0.1
    for i in range(60):
        out.append({"t": round(t, 6), "send": True})
        out.append({"t": round(t + 0.02, 6), "throttled": i in (20, 21, 45)})
        t += 0.03
    # a quiet spell, then calls again: CUBIC climbs back
    t += 5
    for i in range(30):
        out.append({"t": round(t, 6), "send": True})
        out.append({"t": round(t + 0.01, 6), "throttled": i == 25})
        t += 0.25
    return out


def run(evs):
    clock = FakeClock(evs[0]["t"])
    cubic = throttling.CubicCalculator(starting_max_rate=0, start_time=clock.current_time())
    tb = bucket.TokenBucket(max_rate=1, clock=clock)
    limiter = adaptive.ClientRateLimiter(
        rate_adjustor=cubic, rate_clocker=adaptive.RateClocker(clock), token_bucket=tb,
        throttling_detector=Detector(), clock=clock)
    out = []
    for ev in evs:
        clock.t = max(clock.t, ev["t"])
        row = dict(ev)
        if ev.get("send"):
            wait = 0.0
            if limiter._enabled:
                tb._refill()
                if tb._current_capacity < 1:
                    wait = tb._sleep_amount(1)
                    clock.sleep(wait)
                    tb._refill()
                tb._current_capacity -= 1
            row["wait"] = wait
        else:
            limiter.on_receiving_response(throttled=ev["throttled"])
        p = cubic.get_params_snapshot()
        row.update(enabled=limiter._enabled, rate=tb.max_rate,
                   capacity=tb.available_capacity,
                   measured=limiter._rate_clocker.measured_rate,
                   w_max=p.w_max, k=p.k, last_fail=p.last_fail, clock=clock.t)
        out.append(row)
    return out


if __name__ == "__main__":
    json.dump(run(events()), sys.stdout, indent=0, sort_keys=True)
    sys.stdout.write("\n")
