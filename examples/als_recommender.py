"""A third-party recommender for audits: implicit's ALS, trained on a feedlab engagement log, over HTTP.

It is written the way an outside team would write one, against the documented protocol only
(``docs/external-ranker.openapi.json``): it reads the JSON request and answers JSON, and imports
nothing from feedlab at serving time.

Training: a small feedlab society is simulated for a day and the platform's logged engagements
are read as a person x topic implicit-feedback matrix; ``implicit``'s Alternating Least Squares
(Hu, Koren & Volinsky 2008) factorizes it. Serving: for each session the person's logged
``history.topic_engaged`` row is folded in (``recalculate_user``, so fresh accounts such as sock
puppets get factors too), every topic gets a score, and each candidate is scored by its topic mix
(``topic_weight`` x score(topic_a) + (1 - topic_weight) x score(topic_b)) plus a small bonus for
logged popularity; candidates are answered best first.

Run:
    pip install 'feedlab[examples]'
    python examples/als_recommender.py --port 8765
    feedlab audit examples/audit-als.toml
"""

from __future__ import annotations

import argparse
import json
import math
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

PROTOCOL = "feedlab.external-ranker/1"


def engagement_log(n_people: int = 2000, days: int = 1, seed: int = 11) -> np.ndarray:
    """Person x topic engagements logged by a feedlab platform after ``days`` simulated days."""
    from feedlab.engine.run import setup_for
    from feedlab.engine.step import start, step
    from feedlab.experiments.config import load_config
    from feedlab.experiments.runner import plan

    config = load_config(
        "social-dilemma", [f"world.n_people={n_people}", "seeds=1", "days=1", f"root_seed={seed}"]
    )
    setup = setup_for(plan(config)[0])
    state = start(setup)
    for _ in range(days * state.world.clock.ticks_per_day):
        step(state, setup)
    return np.asarray(state.platform.model.topic_engaged, np.float32)


class AlsRecommender:
    """Scores candidates by ALS topic affinities folded in from each person's logged history."""

    def __init__(self, engagements: np.ndarray, factors: int = 8, seed: int = 0) -> None:
        from implicit.cpu.als import AlternatingLeastSquares

        self.n_topics = engagements.shape[1]
        self.model = AlternatingLeastSquares(
            factors=factors, iterations=20, regularization=0.05, random_state=seed
        )
        with threadpool_limits(1, "blas"):
            self.model.fit(sp.csr_matrix(engagements), show_progress=False)

    def topic_scores(self, topic_engaged: list[float]) -> np.ndarray:
        """ALS score of every topic for one person's logged engagements."""
        row = np.zeros((1, self.n_topics), np.float32)
        if topic_engaged:
            row[0, : len(topic_engaged)] = topic_engaged
        if row.sum() <= 0:
            return np.zeros(self.n_topics)
        factors = self.model.recalculate_user(0, sp.csr_matrix(row))
        return np.asarray(factors @ self.model.item_factors.T, np.float64).ravel()

    def rank(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer a ``feedlab.external-ranker/1`` request."""
        rankings = []
        for session in request["sessions"]:
            scores = self.topic_scores(session["history"]["topic_engaged"])
            keyed = []
            for c in session["candidates"]:
                w = c["topic_weight"]
                value = w * scores[c["topic_a"]] + (1 - w) * scores[c["topic_b"]]
                value += 0.01 * math.log1p(c["popularity"])
                keyed.append((-value, c["id"]))
            rankings.append({"session": session["session"], "ids": [i for _, i in sorted(keyed)]})
        return {"protocol": PROTOCOL, "rankings": rankings}


def make_server(
    recommender: AlsRecommender, host: str = "127.0.0.1", port: int = 0
) -> ThreadingHTTPServer:
    """An HTTP server answering ``POST /rank`` with ``recommender`` (port 0: any free port)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/rank":
                self.send_error(404)
                return
            try:
                request = json.loads(self.rfile.read(int(self.headers["content-length"])))
                payload = json.dumps(recommender.rank(request)).encode()
            except (ValueError, KeyError, TypeError) as error:
                self.send_error(400, f"bad request: {error}")
                return
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return ThreadingHTTPServer((host, port), Handler)


def main() -> None:
    """Train on a simulated engagement log and serve on loopback."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--days", type=int, default=1)
    args = parser.parse_args()
    threadpool_limits(1)  # implicit's ALS is slower with a multi-threaded BLAS
    recommender = AlsRecommender(engagement_log(args.people, args.days))
    server = make_server(recommender, port=args.port)
    print(f"ALS recommender on http://127.0.0.1:{server.server_address[1]}/rank")
    server.serve_forever()


if __name__ == "__main__":
    main()
