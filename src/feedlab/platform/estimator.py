"""The digital model of each person: learned online from the log alone.

For every person the platform keeps decayed counts of what they were shown and what they did, a
topic profile, an inferred leaning with its standard error (from the slant of the posts they write
and like, the way Barberá 2015 infers ideology from observed behaviour, corrected for the slant
of what they were shown), an inferred outrage susceptibility (from the punctuation they reward) and a well-being risk score from usage patterns.
For every cascade it keeps engagement counts. A multi-task logistic model predicts each logged
action for a (person, post) pair, as the heavy rankers of real platforms do (Covington et al.
2016; Twitter's 2023 MaskNet heads), and learns by AdaGrad each tick on that tick's log
(progressive validation: predictions are scored before the outcome is learned).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from pydantic import Field

from feedlab.core.arrays import F64Array, FloatArray, IntArray, U32Array
from feedlab.core.kernels import in_place_on_threads, kernel_threads, threaded
from feedlab.core.params import Params
from feedlab.platform import kernels
from feedlab.platform.observe import LOGGED_ACTIONS, ImpressionLog, PostView

N_ACTIONS = len(LOGGED_ACTIONS)
SHARED_FEATURES = (
    "interest_match",
    "agreement",
    "partisan_intensity",
    "outrage_cue",
    "in_network",
    "age",
    "popularity",
)
"""Features shared by every action head (each head also has a bias and two base-rate logits)."""
N_SHARED = len(SHARED_FEATURES)
ENGAGE_ACTIONS = (0, 1, 2, 3)  # click, like, share, reply: what counts as "engaged"
NIGHT_HOURS = (23.0, 5.0)
EXPOSURE_CORRECTION = 2.0
"""How far the inferred leaning is pushed past the mean slant of a person's evidence, away from
the mean slant of their feed, per unit of the gap (see :meth:`PersonModel.estimated_leaning`).

People like what they are shown, so the mean slant of their likes sits between their own leaning
and their feed's; the gap between the two says which way, and how far, they lean beyond their
feed. 2 minimized the error of the inferred leaning on the default society (10,000 people, 30
days; ``docs/validation.md``, finding 8); 0 reads the mean slant of the evidence alone."""


class EstimatorParams(Params):
    """How the digital model learns.

    Attributes:
        learning_rate: AdaGrad step size of the action heads.
        prior_strength: pseudo-impressions that shrink per-person and per-post rates to the mean.
        memory_days: half-life in days of the per-person counts.
        leaning_noise: assumed s.d. of one slant observation (sets the standard error).
        frozen: the shared parts of the model (the action heads and the global base rates) stop
            learning, as a production model does between retrainings; per-person and per-post
            counts still update. With no out-of-network sources this also means one person's
            feed can only affect people it reaches through the follow graph.
    """

    learning_rate: float = Field(0.1, gt=0, le=10)
    prior_strength: float = Field(10.0, gt=0)
    memory_days: float = Field(30.0, gt=0)
    leaning_noise: float = Field(0.6, gt=0)
    frozen: bool = False


@dataclass(frozen=True, slots=True)
class Features:
    """Features of a flat batch of (person, post) pairs."""

    shared: FloatArray  # (m, N_SHARED)
    person_logit: FloatArray  # (m, N_ACTIONS) smoothed log-odds of the person doing each action
    post_logit: FloatArray  # (m, N_ACTIONS) smoothed log-odds of each action on the cascade

    def take(self, index: IntArray) -> Features:
        """The rows at ``index`` (any shape; the feature axis stays last)."""
        rows = [
            np.take(a, index, axis=0) for a in (self.shared, self.person_logit, self.post_logit)
        ]
        return Features(*rows)


@dataclass(frozen=True, slots=True)
class PersonModel:
    """What the platform believes about each person and each cascade (``estimated_*``).

    The count arrays are buffers owned by the model and updated in place by :func:`learn`, so a
    tick costs in proportion to its impressions, not to the population; the head weights are
    replaced.
    """

    impressions: FloatArray  # (n_people,) decayed impressions logged
    action_counts: FloatArray  # (n_people, N_ACTIONS) decayed counts of each action
    person_logit: FloatArray  # (n_people, N_ACTIONS) smoothed log-odds of each action
    topic_shown: FloatArray  # (n_people, n_topics) decayed impressions by topic
    topic_engaged: FloatArray  # (n_people, n_topics) decayed engagements by topic
    leaning_sum: FloatArray  # (n_people,) slant of the posts liked and written (not reshared)
    leaning_weight: FloatArray  # (n_people,) number of those slant observations
    shown_slant: FloatArray  # (n_people,) slant of every impression, summed
    excl_engaged: FloatArray  # (n_people,) log(1 + exclamations) of engaged posts, summed
    excl_shown: FloatArray  # (n_people,) log(1 + exclamations) of shown posts, summed
    minutes: FloatArray  # (n_people,) decayed minutes logged
    night_minutes: FloatArray  # (n_people,) decayed minutes logged between 23:00 and 05:00
    post_impressions: FloatArray  # (capacity,) impressions per cascade root slot
    post_actions: FloatArray  # (capacity, N_ACTIONS) actions per cascade root slot
    post_logit: FloatArray  # (capacity, N_ACTIONS) smoothed log-odds per cascade root slot
    bias: F64Array  # (N_ACTIONS,) head intercepts
    person_weight: F64Array  # (N_ACTIONS,) weight of the person's base-rate logit
    post_weight: F64Array  # (N_ACTIONS,) weight of the cascade's base-rate logit
    shared_weight: F64Array  # (N_ACTIONS, N_SHARED) weights of the shared features
    grad_sq: F64Array  # (N_ACTIONS, 3 + N_SHARED) AdaGrad accumulators
    global_rates: F64Array  # (N_ACTIONS,) running mean rate of each action

    @property
    def n_people(self) -> int:
        """Number of people modelled."""
        return int(self.impressions.shape[0])

    def engagements(self, slots: IntArray) -> FloatArray:
        """Engagements (click, like, share, reply) logged on the cascades at root ``slots``."""
        total = self.post_actions[slots, ENGAGE_ACTIONS[0]]  # one column at a time: no row copies
        for a in ENGAGE_ACTIONS[1:]:
            total += self.post_actions[slots, a]
        return total

    def estimated_interest(self, persons: IntArray) -> FloatArray:
        """Smoothed engagement rate by topic, max 1 per person, ``(len(persons), n_topics)``.

        One compiled pass (:func:`feedlab.platform.kernels.estimated_interest`) for an integer
        array of persons over float32 counters; the same values as :meth:`interest_reference`.
        """
        if (
            isinstance(persons, np.ndarray)
            and persons.ndim == 1
            and persons.dtype.kind in "iu"
            and persons.dtype != np.uint64
            and self.topic_engaged.dtype == self.topic_shown.dtype == np.float32
            and self.topic_engaged.shape[1] > 0
        ):
            return kernels.estimated_interest(self.topic_engaged, self.topic_shown, persons)
        return self.interest_reference(persons)

    def interest_reference(self, persons: IntArray) -> FloatArray:
        """NumPy reference of :meth:`estimated_interest`."""
        rate = (self.topic_engaged[persons] + 0.5) / (self.topic_shown[persons] + 2.0)
        return (rate / rate.max(axis=1, keepdims=True)).astype(np.float32)

    def estimated_leaning(self, persons: IntArray | slice = slice(None)) -> FloatArray:
        """Inferred leaning in [-1, 1] (0 with no evidence).

        The shrunk mean slant of the evidence (posts liked and written), ``e = sum / (n + 1)``,
        pushed away from the shrunk mean slant of the feed, ``f = shown / (impressions + 1)``:
        ``e + k * (e - n / (n + 1) * f)`` with ``k =`` :data:`EXPOSURE_CORRECTION`, clipped.
        The mean slant of someone's likes alone follows what they were shown as much as their
        leaning; the gap from the feed's mean removes that (the feed term is shrunk like the
        evidence, so a person with no evidence is still at 0).
        """
        weight = self.leaning_weight[persons]
        evidence = self.leaning_sum[persons] / (weight + 1.0)
        feed = self.shown_slant[persons] / (self.impressions[persons] + 1.0)
        lift = evidence - weight / (weight + 1.0) * feed
        return np.clip(evidence + EXPOSURE_CORRECTION * lift, -1.0, 1.0).astype(np.float32)

    def estimated_leaning_se(self, noise: float) -> FloatArray:
        """Standard error of the inferred leaning, ``(n_people,)``."""
        return (noise / np.sqrt(self.leaning_weight + 1.0)).astype(np.float32)

    def estimated_outrage_susceptibility(
        self, persons: IntArray | slice = slice(None)
    ) -> FloatArray:
        """Lift of exclamation marks in engaged over shown posts, squashed to [0, 1]."""
        engaged = self.action_counts[persons][:, list(ENGAGE_ACTIONS)].sum(axis=1)
        per_engaged = (self.excl_engaged[persons] + 0.5) / (engaged + 1.0)
        per_shown = (self.excl_shown[persons] + 0.5) / (self.impressions[persons] + 1.0)
        return (1.0 / (1.0 + np.exp(-3.0 * (per_engaged / per_shown - 1.0)))).astype(np.float32)

    def estimated_outrage_susceptibility_se(self) -> FloatArray:
        """Standard error of the outrage estimate: shrinks as engagements are logged."""
        engaged = self.action_counts[:, list(ENGAGE_ACTIONS)].sum(axis=1)
        return (0.5 / np.sqrt(engaged + 1.0)).astype(np.float32)

    def estimated_wellbeing_risk(self) -> FloatArray:
        """A usage-based risk score in [0, 1] from heavy and late-night use, ``(n_people,)``."""
        heavy = self.minutes / (np.median(self.minutes) + 1.0)
        night = self.night_minutes / (self.minutes + 1.0)
        z = 1.2 * (heavy - 1.5) + 4.0 * (night - 0.2)
        return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)


def init_person_model(n_people: int, n_topics: int, capacity: int) -> PersonModel:
    """A model that knows nothing yet: flat rates and neutral weights."""
    z = np.zeros(n_people, np.float32)
    rates = np.full(N_ACTIONS, 0.02)
    logit0 = float(np.log(0.02 / 0.98))
    return PersonModel(
        impressions=z.copy(),
        action_counts=np.zeros((n_people, N_ACTIONS), np.float32),
        person_logit=np.full((n_people, N_ACTIONS), logit0, np.float32),
        topic_shown=np.zeros((n_people, n_topics), np.float32),
        topic_engaged=np.zeros((n_people, n_topics), np.float32),
        leaning_sum=z.copy(),
        leaning_weight=z.copy(),
        shown_slant=z.copy(),
        excl_engaged=z.copy(),
        excl_shown=z.copy(),
        minutes=z.copy(),
        night_minutes=z.copy(),
        post_impressions=np.zeros(capacity, np.float32),
        post_actions=np.zeros((capacity, N_ACTIONS), np.float32),
        post_logit=np.full((capacity, N_ACTIONS), logit0, np.float32),
        bias=np.zeros(N_ACTIONS),
        person_weight=np.full(N_ACTIONS, 0.5),
        post_weight=np.full(N_ACTIONS, 0.5),
        shared_weight=np.zeros((N_ACTIONS, N_SHARED)),
        grad_sq=np.full((N_ACTIONS, 3 + N_SHARED), 1e-6),
        global_rates=rates,
    )


def _smoothed_logit(
    counts: FloatArray, total: FloatArray, prior: float, rates: F64Array
) -> FloatArray:
    p = (counts + prior * rates.astype(np.float32)) / (total[..., None] + prior)
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p)).astype(np.float32)


def features(
    model: PersonModel,
    view: PostView,
    persons: IntArray,
    rows: IntArray,
    slots: IntArray,
    in_network: np.ndarray,
    tick: int,
    lifetime: int,
) -> Features:
    """Features of a flat batch of (person, post) pairs.

    Args:
        model: the digital model.
        view: observable post columns.
        persons: the people in session, ``(n_sessions,)``.
        rows: the session of each pair, ``(m,)``.
        slots: post slot of each pair, ``(m,)``.
        in_network: whether each candidate came from the person's follows, ``(m,)``.
        tick: current tick.
        lifetime: cascade lifetime in ticks.
    """
    who = persons[rows]
    inverse = rows
    interest = model.estimated_interest(persons)
    w = view.topic_weight[slots]
    match = (
        w * interest[inverse, view.topic_a[slots]]
        + (1 - w) * interest[inverse, view.topic_b[slots]]
    )
    lean = model.estimated_leaning(persons)[inverse]
    slant = view.slant[slots]
    outrage = model.estimated_outrage_susceptibility(persons)[inverse]
    root_slots = view.slots_of(view.root[slots])
    shared = np.empty((slots.size, N_SHARED), np.float32)
    shared[:, 0] = match
    shared[:, 1] = lean * slant
    shared[:, 2] = np.abs(lean) * np.abs(slant)
    shared[:, 3] = outrage * np.log1p(view.exclamations[slots])
    shared[:, 4] = in_network
    shared[:, 5] = (tick - view.root_created[slots]) / float(lifetime)
    shared[:, 6] = np.log1p(model.post_impressions[root_slots]) / 5.0
    return Features(shared, model.person_logit[who], model.post_logit[root_slots])


def predict(model: PersonModel, x: Features) -> FloatArray:
    """Predicted probability of every logged action, ``x.shared.shape[:-1] + (N_ACTIONS,)``."""
    z = x.shared @ model.shared_weight.T.astype(np.float32)
    z += x.person_logit * model.person_weight.astype(np.float32)
    z += x.post_logit * model.post_weight.astype(np.float32)
    z += model.bias.astype(np.float32)
    return _sigmoid_in_place(z)


def _sigmoid_in_place(z: FloatArray) -> FloatArray:
    """The logistic function of float32 logits, overwriting them: no temporaries."""
    np.clip(z, -30, 30, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    z += 1.0
    return np.reciprocal(z, out=z)


def predict_pairs(
    model: PersonModel,
    view: PostView,
    persons: IntArray,
    rows: IntArray,
    slots: IntArray,
    in_network: np.ndarray,
    tick: int,
    lifetime: int,
    pad: bool = False,
    interest: FloatArray | None = None,
) -> tuple[Features, FloatArray]:
    """Features and predicted probabilities of a flat batch of pairs, in one compiled pass.

    The same as :func:`features` then :func:`predict` (the reference, to float32 rounding);
    arguments as in :func:`features`. With ``pad`` the predictions get one more row, all zero,
    for padded layouts to point their empty cells at. ``interest`` is
    ``model.estimated_interest(persons)`` when the caller has it already.
    """
    m = rows.size
    shared = np.empty((m, N_SHARED), np.float32)
    person_part = np.empty((m, N_ACTIONS), np.float32)
    post_part = np.empty((m, N_ACTIONS), np.float32)
    z = np.empty((m + pad, N_ACTIONS), np.float32)
    logits = kernels.candidate_logits_threaded if threaded(m) else kernels.candidate_logits
    logits(
        rows, slots, in_network, persons,
        model.estimated_interest(persons) if interest is None else interest,
        model.estimated_leaning(persons),
        model.estimated_outrage_susceptibility(persons),
        view.topic_weight, view.topic_a, view.topic_b, view.slant, view.exclamations,
        view.root, view.root_created,
        model.person_logit, model.post_logit, model.post_impressions,
        model.shared_weight.astype(np.float32), model.person_weight.astype(np.float32),
        model.post_weight.astype(np.float32), model.bias.astype(np.float32),
        tick, lifetime, shared, person_part, post_part, z,
    )  # fmt: skip
    p = in_place_on_threads(_sigmoid_in_place, z[:m])
    if pad:
        z[m] = 0.0
        p = z
    return Features(shared, person_part, post_part), p


def p_engage(predictions: FloatArray) -> FloatArray:
    """Probability of at least one of click, like, share, reply (heads taken as independent)."""
    miss = np.prod(1.0 - predictions[..., list(ENGAGE_ACTIONS)], axis=-1)
    return (1.0 - miss).astype(np.float32)


def learn(
    model: PersonModel,
    log: ImpressionLog,
    view: PostView,
    seen: Features,
    predictions: FloatArray,
    params: EstimatorParams,
    hour: float,
) -> PersonModel:
    """Update the digital model with one tick's log.

    Args:
        model: the model before the tick.
        log: the tick's impression log.
        view: observable post columns.
        seen: features of the impressions seen, flat ``(m, ...)`` in the order of
            ``np.nonzero(log.seen)``.
        predictions: what the model predicted for them, ``(m, N_ACTIONS)``.
        params: learning parameters.
        hour: hour of day of the tick (for late-night usage).
    """
    rows, cols = np.nonzero(log.seen)
    if rows.size == 0:
        return model
    who = log.persons[rows]
    slots = view.slots_of(log.post_ids[rows, cols])
    y = log.actions[rows, cols].astype(np.float32)  # (m, A)

    grad = kernels.head_gradient(y, predictions, seen.person_logit, seen.post_logit, seen.shared)

    # Per-person counters are model-owned buffers updated in place, in one compiled pass.
    engaged = y[:, list(ENGAGE_ACTIONS)].max(axis=1)
    dwell_minutes = (log.dwell_seconds[rows, cols] / 60.0).astype(np.float32)
    night = bool(hour >= NIGHT_HOURS[0] or hour < NIGHT_HOURS[1])
    kernels.count_impressions(
        who,
        slots,
        y,
        engaged,
        view.topic_a,
        view.slant,
        view.exclamations,
        dwell_minutes,
        night,
        model.impressions,
        model.action_counts,
        model.topic_shown,
        model.topic_engaged,
        model.leaning_sum,
        model.leaning_weight,
        model.shown_slant,
        model.excl_engaged,
        model.excl_shown,
        model.minutes,
        model.night_minutes,
    )
    touched = np.flatnonzero(np.bincount(who, minlength=model.n_people))
    root_slots = view.slots_of(view.root[slots])
    live = view.id[root_slots] == view.root[slots]
    roots = kernels.count_cascades(root_slots, live, y, model.post_impressions, model.post_actions)
    return _apply_update(model, grad, y.mean(axis=0), touched, roots, params)


def learn_impressions(
    model: PersonModel,
    log: ImpressionLog,
    view: PostView,
    features: Features,
    feature_row: IntArray,
    predictions: FloatArray,
    params: EstimatorParams,
    hour: float,
) -> tuple[PersonModel, IntArray, U32Array]:
    """Update the digital model with one tick's log, reading the feeds' features in place.

    The same update as :func:`learn` (the reference, which is given the seen slots' features
    gathered into flat arrays), with the gathers, the gradient and every counter in compiled
    passes over the seen slots (:func:`feedlab.platform.kernels.learn_seen`; for a large tick of
    distinct people, its threaded twin, whose results are the same).

    Args:
        model: the model before the tick.
        log: the tick's impression log.
        view: observable post columns.
        features: the flat features the feeds were scored from.
        feature_row: ``(n_sessions, feed_size)`` row of each shown slot in ``features``.
        predictions: what the model predicted for each slot, ``(n_sessions, feed_size, A)``.
        params: learning parameters.
        hour: hour of day of the tick (for late-night usage).

    Returns:
        The updated model, and for each impression (in the order of ``np.nonzero(log.seen)``)
        who saw it and the id of its cascade root.
    """
    n_seen = int(np.count_nonzero(log.seen))
    seen_persons = np.empty(n_seen, np.int64)
    seen_roots = np.empty(n_seen, np.uint32)
    if n_seen == 0:
        return model, seen_persons, seen_roots
    grad = np.zeros((N_ACTIONS, 3 + N_SHARED))
    y_sum = np.zeros(N_ACTIONS, np.float32)
    night = bool(hour >= NIGHT_HOURS[0] or hour < NIGHT_HOURS[1])
    arguments = (
        log.seen, log.persons, log.post_ids, log.actions, log.dwell_seconds, feature_row,
        features.shared, features.person_logit, features.post_logit, predictions,
        view.id, view.root, view.topic_a, view.slant, view.exclamations, night,
        (
            model.impressions, model.action_counts, model.topic_shown, model.topic_engaged,
            model.leaning_sum, model.leaning_weight, model.shown_slant, model.excl_engaged,
            model.excl_shown, model.minutes, model.night_minutes,
        ),
        model.post_impressions, model.post_actions, grad, y_sum, seen_persons, seen_roots,
    )  # fmt: skip
    if threaded(n_seen) and kernels.distinct(log.persons, model.n_people):
        touched, roots = kernels.learn_seen_threaded(*arguments, kernel_threads())
    else:
        touched, roots = kernels.learn_seen(*arguments)
    grad /= n_seen
    y_mean = y_sum / n_seen  # float32, as the reference's y.mean(axis=0)
    return _apply_update(model, grad, y_mean, touched, roots, params), seen_persons, seen_roots


def _apply_update(
    model: PersonModel,
    grad: F64Array,
    y_mean: FloatArray,
    touched: IntArray,
    roots: IntArray,
    params: EstimatorParams,
) -> PersonModel:
    """Refresh the touched base-rate logits and take one AdaGrad step of the heads."""
    prior = params.prior_strength
    model.person_logit[touched] = _smoothed_logit(
        model.action_counts[touched], model.impressions[touched], prior, model.global_rates
    )
    model.post_logit[roots] = _smoothed_logit(
        model.post_actions[roots], model.post_impressions[roots], prior, model.global_rates
    )
    if params.frozen:
        return model
    grad_sq = model.grad_sq + grad**2
    step = params.learning_rate * grad / np.sqrt(grad_sq)
    return replace(
        model,
        bias=model.bias + step[:, 0],
        person_weight=model.person_weight + step[:, 1],
        post_weight=model.post_weight + step[:, 2],
        shared_weight=model.shared_weight + step[:, 3:],
        grad_sq=grad_sq,
        global_rates=0.99 * model.global_rates + 0.01 * y_mean,
    )


def head_gradient_reference(y: FloatArray, predictions: FloatArray, seen: Features) -> F64Array:
    """NumPy reference of :func:`feedlab.platform.kernels.head_gradient`."""
    err = (y - predictions).astype(np.float64)  # (m, A)
    grad = np.empty((N_ACTIONS, 3 + N_SHARED))
    grad[:, 0] = err.mean(axis=0)
    grad[:, 1] = (err * seen.person_logit).mean(axis=0)
    grad[:, 2] = (err * seen.post_logit).mean(axis=0)
    grad[:, 3:] = (err.T @ seen.shared.astype(np.float64)) / y.shape[0]
    return grad


def count_reference(
    model: PersonModel,
    view: PostView,
    who: IntArray,
    slots: IntArray,
    y: FloatArray,
    dwell_minutes: FloatArray,
    night: bool,
) -> None:
    """NumPy reference of :func:`feedlab.platform.kernels.count_impressions` (in place)."""
    n = model.n_people
    model.impressions[:] += np.bincount(who, minlength=n)
    for a in range(N_ACTIONS):
        model.action_counts[:, a] += np.bincount(who, y[:, a], n).astype(np.float32)
    n_topics = model.topic_shown.shape[1]
    flat = who * n_topics + view.topic_a[slots]
    engaged = y[:, list(ENGAGE_ACTIONS)].max(axis=1)
    model.topic_shown.reshape(-1)[:] += np.bincount(flat, minlength=n * n_topics)
    model.topic_engaged.reshape(-1)[:] += np.bincount(flat, engaged, n * n_topics).astype(
        np.float32
    )
    like = y[:, 1]  # shares and replies are no evidence: many are hate-shares and angry answers
    model.leaning_sum[:] += np.bincount(who, like * view.slant[slots], n).astype(np.float32)
    model.leaning_weight[:] += np.bincount(who, like, n).astype(np.float32)
    model.shown_slant[:] += np.bincount(who, view.slant[slots], n).astype(np.float32)
    excl = np.log1p(view.exclamations[slots].astype(np.float32))
    model.excl_engaged[:] += np.bincount(who, engaged * excl, n).astype(np.float32)
    model.excl_shown[:] += np.bincount(who, excl, n).astype(np.float32)
    minutes = np.bincount(who, dwell_minutes, n).astype(np.float32)
    model.minutes[:] += minutes
    if night:
        model.night_minutes[:] += minutes


def forget(model: PersonModel, params: EstimatorParams) -> PersonModel:
    """Apply one day of decay to the per-person counts (half-life ``memory_days``)."""
    d = np.float32(0.5 ** (1.0 / params.memory_days))
    return replace(
        model,
        impressions=model.impressions * d,
        action_counts=model.action_counts * d,
        topic_shown=model.topic_shown * d,
        topic_engaged=model.topic_engaged * d,
        leaning_sum=model.leaning_sum * d,  # old evidence fades, so drifting views are tracked
        leaning_weight=model.leaning_weight * d,
        shown_slant=model.shown_slant * d,
        excl_engaged=model.excl_engaged * d,
        excl_shown=model.excl_shown * d,
        minutes=model.minutes * d,
        night_minutes=model.night_minutes * d,
    )


def observe_own_posts(model: PersonModel, view: PostView, slots: IntArray) -> PersonModel:
    """Learn from what people write: the slant of their own posts (in place).

    Reshares are left out: their text is someone else's, and a hate-share of the other side
    carries the other side's slant.
    """
    own = slots[view.depth[slots] == 0]
    authors = view.author[own].astype(np.int64)
    np.add.at(model.leaning_sum, authors, view.slant[own])
    np.add.at(model.leaning_weight, authors, 1.0)
    return model


def reset_slots(model: PersonModel, slots: IntArray) -> None:
    """Zero the cascade counters of slots being reused by new posts (in place)."""
    model.post_impressions[slots] = 0.0
    model.post_actions[slots] = 0.0
    model.post_logit[slots] = float(np.log(0.02 / 0.98))
