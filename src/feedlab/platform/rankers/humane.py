"""Humane alternatives to engagement ranking: diversity, well-being, stated preference, controls.

Each ranker sees only what the platform sees (:class:`RankContext`: candidates, the engagement
model's predictions, observable post columns, the digital model and the ranker's own memory);
``docs/rankers.md`` gives the source of each and the honest limits of its proxies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from feedlab.core.arrays import BoolArray, F64Array, FloatArray, IntArray
from feedlab.core.params import Params
from feedlab.platform.observe import LOGGED_ACTIONS, PostView, UserControls
from feedlab.platform.rankers.base import (
    Feedback,
    FillsFeeds,
    RankContext,
    Remembers,
    masked,
    top_k,
)
from feedlab.platform.rankers.builtin import Engagement

_HIDE = LOGGED_ACTIONS.index("hide")


def _engagement(context: RankContext) -> FloatArray:
    """The default engagement score (Twitter's 2023 weights) every alternative starts from."""
    return np.asarray(Engagement().score(context), dtype=np.float64)


def _candidate_column(view_column: np.ndarray, context: RankContext) -> np.ndarray:
    """An observable post column gathered at every candidate, ``(n_sessions, n_candidates)``."""
    return view_column[np.maximum(context.candidates.slots, 0)]


class Diversity(Params, FillsFeeds):
    """Maximal marginal relevance re-ranking of the engagement score (Carbonell & Goldstein 1998).

    Slots are filled one at a time with the candidate maximizing
    ``mmr_lambda * relevance - (1 - mmr_lambda) * max similarity to the posts already chosen``,
    where relevance is the engagement score divided by the session's largest absolute score and
    similarity mixes topic overlap and viewpoint closeness of the observable slant (the text
    classifier's reading of a post's leaning). ``mmr_lambda = 1`` is engagement ranking.

    Attributes:
        mmr_lambda: weight of relevance against redundancy, in [0, 1].
        topic_weight: weight of topic overlap in the similarity.
        viewpoint_weight: weight of viewpoint closeness, ``1 - |slant_a - slant_b| / 2``.
    """

    mmr_lambda: float = Field(0.6, ge=0, le=1)
    topic_weight: float = Field(0.5, ge=0)
    viewpoint_weight: float = Field(0.5, ge=0)

    def rank(self, context: RankContext, k: int, rng: np.random.Generator) -> IntArray:
        """Greedy MMR over all sessions at once (one pass per feed slot)."""
        valid = context.candidates.valid
        n, c = valid.shape
        relevance = _unit_range(_engagement(context), valid)
        view = context.view
        topic_a = _candidate_column(view.topic_a, context)
        topic_b = _candidate_column(view.topic_b, context)
        slant = _candidate_column(view.slant, context).astype(np.float64)
        total = self.topic_weight + self.viewpoint_weight
        w_topic = self.topic_weight / total if total > 0 else 0.0
        w_view = self.viewpoint_weight / total if total > 0 else 0.0
        available = valid.copy()
        redundancy = np.zeros((n, c))
        out = np.full((n, k), -1, np.int64)
        rows = np.arange(n)
        lam = self.mmr_lambda
        for s in range(min(k, c)):
            gain = np.where(available, lam * relevance - (1 - lam) * redundancy, -np.inf)
            pick = np.argmax(gain, axis=1)  # ties: the lowest column
            has = available[rows, pick]
            if not has.any():
                break
            out[has, s] = pick[has]
            available[rows[has], pick[has]] = False
            pa, pb = topic_a[rows, pick][:, None], topic_b[rows, pick][:, None]
            topic_sim = np.minimum(1.0, (topic_a == pa) + 0.5 * ((topic_a == pb) | (topic_b == pa)))
            view_sim = 1.0 - np.abs(slant - slant[rows, pick][:, None]) / 2.0
            sim = w_topic * topic_sim + w_view * view_sim
            redundancy = np.where(has[:, None], np.maximum(redundancy, sim), redundancy)
        return out


def _unit_range(scores: F64Array, valid: BoolArray) -> F64Array:
    """Scores divided by each row's largest absolute valid score, so they lie in [-1, 1]."""
    scale = np.where(valid, np.abs(scores), 0.0).max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = np.where(scale > 0, scores / scale, 0.0)
    return np.where(valid, unit, 0.0)


def _outrage_cue(view: PostView, context: RankContext) -> FloatArray:
    """What the platform can see of a post's outrage: log(1 + exclamation marks)."""
    return np.log1p(_candidate_column(view.exclamations, context).astype(np.float64))


class Wellbeing(Params, FillsFeeds):
    """Engagement minus a penalty for what the model predicts people regret or are harmed by.

    ``score = engagement - (1 + risk_weight * risk) * (hide_penalty * P(hide)
    + outrage_penalty * susceptibility * log(1 + exclamations))``.

    The platform cannot see regret or well-being, so the penalty uses its proxies: the predicted
    "show less" (hides are the closest logged signal of regret; Twitter's own ``negative_feedback``
    head), outrage cues weighted by the person's *estimated* outrage susceptibility (in this
    world outrage x susceptibility is what lowers well-being; Milli et al. 2023 found readers
    felt worse after angry, out-group-hostile posts), and the usage-based well-being risk of the
    person (heavy and late-night use) that scales the penalty. These are proxies, not
    measurements of well-being: see ``docs/rankers.md``.

    Attributes:
        hide_penalty: penalty per unit of predicted hide probability.
        outrage_penalty: penalty per unit of estimated susceptibility x log(1 + exclamations).
        risk_weight: how much more the penalty counts for people at high usage risk.
    """

    hide_penalty: float = Field(20.0, ge=0)
    outrage_penalty: float = Field(2.0, ge=0)
    risk_weight: float = Field(1.0, ge=0)

    def score(self, context: RankContext) -> FloatArray:
        """Engagement minus the weighted regret penalty of every candidate."""
        persons = context.candidates.persons
        model = context.model
        if model is not None:
            susceptibility = model.estimated_outrage_susceptibility(persons)[:, None]
            risk = model.estimated_wellbeing_risk()[persons][:, None]
        else:
            susceptibility, risk = np.ones((persons.size, 1)), np.zeros((persons.size, 1))
        penalty = self.hide_penalty * context.predictions[..., _HIDE] + (
            self.outrage_penalty * susceptibility * _outrage_cue(context.view, context)
        )
        return _engagement(context) - (1.0 + self.risk_weight * risk) * penalty

    def rank(self, context: RankContext, k: int, rng: np.random.Generator) -> IntArray:
        """Highest penalized score first."""
        return top_k(masked(self.score(context), context), k)


WORTH_FEATURES = (
    "bias",
    *(f"p_{action}" for action in LOGGED_ACTIONS),
    "agreement",
    "outrage_cue",
    "cross_cutting_outrage",
    "in_network",
)
"""Observable features of a (person, post) pair that the stated-preference model uses."""
N_WORTH = len(WORTH_FEATURES)


def worth_features(
    predictions: FloatArray,
    in_network: np.ndarray,
    leaning: FloatArray,
    slant: FloatArray,
    exclamations: np.ndarray,
) -> F64Array:
    """The features of :data:`WORTH_FEATURES`, shape ``predictions.shape[:-1] + (N_WORTH,)``.

    Args:
        predictions: the engagement model's predicted actions, ``(..., len(LOGGED_ACTIONS))``.
        in_network: whether the post came from a followed account, ``(...)``.
        leaning: the person's *estimated* leaning, broadcastable to ``(...)``.
        slant: the post's observable slant, ``(...)``.
        exclamations: exclamation marks in the post, ``(...)``.
    """
    shape = predictions.shape[:-1]
    x = np.empty((*shape, N_WORTH))
    x[..., 0] = 1.0
    x[..., 1 : 1 + len(LOGGED_ACTIONS)] = predictions
    agreement = np.broadcast_to(leaning, shape) * slant
    cue = np.log1p(exclamations.astype(np.float64))
    i = 1 + len(LOGGED_ACTIONS)
    x[..., i] = agreement
    x[..., i + 1] = cue
    x[..., i + 2] = cue * (agreement < 0)
    x[..., i + 3] = in_network
    return x


@dataclass(slots=True)
class SurveyMemory:
    """Decayed least-squares statistics of the survey answers, and the fitted weights.

    Attributes:
        xtx: sum of outer products of the answered pairs' features (decayed).
        xty: sum of features times answer (decayed).
        answers: decayed number of answers.
        weights: the ridge fit of P(worth) on the features (zeros before the first answer).
    """

    xtx: F64Array  # (N_WORTH, N_WORTH)
    xty: F64Array  # (N_WORTH,)
    answers: float
    weights: F64Array  # (N_WORTH,)


class StatedPreference(Params, FillsFeeds, Remembers):
    """Rank by what people say they value, learned from a survey, not by what they click.

    Milli et al. (2023; *PNAS Nexus* 2025) ranked tweets by users' *stated* preferences and
    found less angry, partisan and out-group-hostile content than under engagement ranking.
    Here the platform asks a random ``survey_rate`` of sessions each tick whether one post they
    saw was "worth your time" (people answer from their true state; ``behaviour/survey.py``),
    and fits a ridge regression of the answer on observable features of the (person, post) pair
    (:data:`WORTH_FEATURES`: the engagement predictions, agreement of estimated leaning and
    slant, outrage cues, cross-cutting outrage cues, network). Feeds are ranked by the
    predicted answer; until ``min_answers`` answers are in, by engagement.

    Attributes:
        survey_rate: share of sessions asked one survey question each tick.
        ridge: L2 weight on the feature weights (not the intercept).
        memory_days: half-life of survey evidence, in days.
        min_answers: decayed answers needed before ranking by the survey model.
    """

    survey_rate: float = Field(0.05, gt=0, le=1)
    ridge: float = Field(1.0, ge=0)
    memory_days: float = Field(14.0, gt=0)
    min_answers: float = Field(100.0, ge=0)

    def survey_share(self) -> float:
        """Share of sessions the platform surveys each tick."""
        return self.survey_rate

    def start_memory(
        self, n_people: int, capacity: int, controls: UserControls | None
    ) -> SurveyMemory:
        """No answers yet."""
        return SurveyMemory(
            xtx=np.zeros((N_WORTH, N_WORTH)), xty=np.zeros(N_WORTH), answers=0.0,
            weights=np.zeros(N_WORTH),
        )  # fmt: skip

    def remember(self, memory: Any, feedback: Feedback) -> SurveyMemory:
        """Decay the old answers, add the tick's, refit the weights."""
        decay = 0.5 ** (1.0 / (self.memory_days * feedback.ticks_per_day))
        memory.xtx *= decay
        memory.xty *= decay
        memory.answers *= decay
        survey = feedback.survey
        if survey is None or survey.worth.size == 0:
            return memory
        view = feedback.view
        slots = view.slots_of(survey.post_ids)
        x = worth_features(
            feedback.predictions[survey.rows, survey.cols],
            feedback.in_network[survey.rows, survey.cols],
            feedback.model.estimated_leaning(survey.persons),
            view.slant[slots],
            view.exclamations[slots],
        )
        memory.xtx += x.T @ x
        memory.xty += x.T @ survey.worth.astype(np.float64)
        memory.answers += float(survey.worth.size)
        penalty = np.full(N_WORTH, self.ridge)
        penalty[0] = 1e-6  # the intercept is not shrunk
        memory.weights = np.linalg.solve(memory.xtx + np.diag(penalty), memory.xty)
        return memory

    def score(self, context: RankContext) -> FloatArray:
        """Predicted "worth my time" of every candidate (engagement until the model is ready)."""
        memory, model = context.memory, context.model
        if not isinstance(memory, SurveyMemory) or model is None:
            return _engagement(context)
        if memory.answers < self.min_answers:
            return _engagement(context)
        x = worth_features(
            context.predictions,
            context.candidates.in_network,
            model.estimated_leaning(context.candidates.persons)[:, None],
            _candidate_column(context.view.slant, context),
            _candidate_column(context.view.exclamations, context),
        )
        return np.asarray(x @ memory.weights)

    def rank(self, context: RankContext, k: int, rng: np.random.Generator) -> IntArray:
        """Highest predicted stated preference first."""
        return top_k(masked(self.score(context), context), k)


class UserControlled(Params, Remembers):
    """Each person's own feed settings applied to the engagement score.

    A candidate's engagement score is multiplied by the person's weight of its topics (a
    negative score divided by it, so a disliked topic is always demoted); people who chose
    "following only" see no out-of-network posts and people who switched outrage off see no
    post with at least ``outrage_exclamations`` exclamation marks (the platform's observable
    outrage cue). The settings come from the people (``behaviour/controls.py``: who adopts the
    controls and what they choose follows their stated preferences); people who never changed
    them get plain engagement ranking. Feeds may hold fewer than ``k`` posts.

    Attributes:
        outrage_exclamations: exclamation marks from which "no outrage" hides a post.
    """

    wants_controls: ClassVar[bool] = True
    outrage_exclamations: int = Field(2, ge=1)

    def start_memory(
        self, n_people: int, capacity: int, controls: UserControls | None
    ) -> UserControls | None:
        """The settings people chose (they do not change during a run)."""
        return controls

    def remember(self, memory: Any, feedback: Feedback) -> Any:
        """Settings do not learn from the log."""
        return memory

    def score(self, context: RankContext) -> FloatArray:
        """Engagement weighted by each person's topic settings, ``-inf`` where they filter."""
        scores = _engagement(context)
        controls = context.memory
        if not isinstance(controls, UserControls):
            return scores
        persons = context.candidates.persons
        view = context.view
        weights = controls.topic_weight[persons]  # (n, n_topics)
        rows = np.arange(persons.size)[:, None]
        mix = _candidate_column(view.topic_weight, context)
        w = (
            mix * weights[rows, _candidate_column(view.topic_a, context)]
            + (1 - mix) * weights[rows, _candidate_column(view.topic_b, context)]
        )
        with np.errstate(divide="ignore"):
            scores = np.where(w > 0, np.where(scores >= 0, scores * w, scores / w), -np.inf)
        blocked = controls.in_network_only[persons][:, None] & ~context.candidates.in_network
        loud = _candidate_column(view.exclamations, context) >= self.outrage_exclamations
        blocked |= controls.no_outrage[persons][:, None] & loud
        return np.where(blocked, -np.inf, scores)

    def rank(self, context: RankContext, k: int, rng: np.random.Generator) -> IntArray:
        """Highest controlled score first; filtered candidates are never shown."""
        return top_k(masked(self.score(context), context), k)
