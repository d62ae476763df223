"""Every daily metric: its name, unit, how runs are summarized, and its definition."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """Documentation of one metric column.

    Attributes:
        name: the value of the ``metric`` column.
        unit: unit of ``value``.
        summary: how a run is reduced to one number: mean over days (flows) or the final day
            (states).
        definition: one-line definition.
    """

    name: str
    unit: str
    summary: Literal["mean", "final"]
    definition: str


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("time_spent_min", "minutes/person/day", "mean",
               "Mean minutes per person (everyone, active or not) spent scrolling that day."),
    MetricSpec("sessions_per_person", "sessions/person/day", "mean",
               "Mean number of app opens per person that day."),
    MetricSpec("dau_share", "share", "mean",
               "Share of people who opened the app at least once that day."),
    MetricSpec("impressions_per_person", "impressions/person/day", "mean",
               "Mean number of posts scrolled past per person that day."),
    MetricSpec("impressions_outrage_share", "share", "mean",
               "Share of impressions whose post outrage is at least world.posts.outrage_threshold."),
    MetricSpec("posts_outrage_share", "share", "mean",
               "Share of original posts written that day at or above the outrage threshold."),
    MetricSpec("impressions_false_share", "share", "mean",
               "Share of impressions whose post is false."),
    MetricSpec("posts_false_share", "share", "mean",
               "Share of original posts written that day that are false."),
    MetricSpec("false_cascade_mean_size", "people", "mean",
               "Mean final size (1 + reshares) of false cascades that closed that day."),
    MetricSpec("true_cascade_mean_size", "people", "mean",
               "Mean final size (1 + reshares) of true cascades that closed that day."),
    MetricSpec("opinion_variance", "leaning^2", "final",
               "Variance of true leanings in [-1, 1] (DiMaggio et al. 1996 dispersion; max 1)."),
    MetricSpec("opinion_bimodality", "coefficient", "final",
               "Sample bimodality coefficient of leanings; above 5/9 suggests two modes."),
    MetricSpec("opinion_extremity", "leaning", "final",
               "Mean absolute leaning."),
    MetricSpec("affective_gap", "thermometer points", "final",
               "Mean of (feeling toward own side - feeling toward the other side), 0-100 scale."),
    MetricSpec("exposure_topic_entropy", "bits", "mean",
               "Mean Shannon entropy of the topic mix of each active person's impressions that day."),
    MetricSpec("cross_cutting_share", "share", "mean",
               "Share of impressions whose post leans to the other side of the viewer."),
    MetricSpec("homogenization_jaccard", "Jaccard index", "mean",
               "Mean Jaccard overlap of the cascades engaged with by fixed random pairs of people "
               "that day (Chaney et al. 2018)."),
    MetricSpec("wellbeing_mean", "well-being [0, 1]", "final",
               "Mean well-being of everyone."),
    MetricSpec("wellbeing_teen_mean", "well-being [0, 1]", "final",
               "Mean well-being of people aged 13-17."),
    MetricSpec("habit_mean", "habit [0, 1]", "final",
               "Mean strength of the checking habit."),
    MetricSpec("model_auc", "AUC", "mean",
               "AUC of the digital model's predicted engagement (click, like, share or reply) on "
               "that day's impressions, predicted before the outcome was logged."),
    MetricSpec("leaning_inference_mae", "leaning", "final",
               "Mean absolute error of the platform's inferred leaning, over people it has logged."),
    MetricSpec("reach_outrage_high", "impressions/person/day", "mean",
               "Impressions per person that day of posts with outrage at or above the threshold."),
    MetricSpec("reach_outrage_low", "impressions/person/day", "mean",
               "Impressions per person that day of posts with outrage below the threshold."),
    MetricSpec("reach_left", "impressions/person/day", "mean",
               "Impressions per person that day of posts whose true leaning is below -1/3."),
    MetricSpec("reach_centre", "impressions/person/day", "mean",
               "Impressions per person that day of posts whose true leaning is within [-1/3, 1/3]."),
    MetricSpec("reach_right", "impressions/person/day", "mean",
               "Impressions per person that day of posts whose true leaning is above 1/3."),
    MetricSpec("reach_false", "impressions/person/day", "mean",
               "Impressions per person that day of false posts."),
    MetricSpec("reach_true", "impressions/person/day", "mean",
               "Impressions per person that day of true posts."),
    # Interventions and adversaries (metrics/interventions.py, docs/interventions.md).
    MetricSpec("bot_reach_share", "share", "mean",
               "Share of human accounts with at least one impression that day of a bot-originated "
               "or bot-amplified post (its cascade started by a bot, or this copy reshared by one)."),
    MetricSpec("bot_impressions_share", "share", "mean",
               "Share of impressions that day whose post is bot-originated or bot-amplified."),
    MetricSpec("labelled_impressions_share", "share", "mean",
               "Share of impressions that day whose cascade carried a misinformation label."),
    MetricSpec("cascades_labelled", "cascades/day", "mean",
               "Cascades labelled false that day after a fact-check (misinfo-label)."),
    MetricSpec("cascades_held", "cascades/day", "mean",
               "Cascades held for review that day by the virality circuit breaker."),
    MetricSpec("share_prompts_per_person", "prompts/person/day", "mean",
               "Read-before-you-share prompts shown per person that day (share-friction)."),
    MetricSpec("nudges_per_person", "nudges/person/day", "mean",
               "Sessions that met a daily time-limit reminder, per person that day."),
    MetricSpec("bots_removed_share", "share", "final",
               "Share of bot accounts the platform has removed so far (detector recall); NaN "
               "without bots."),
    MetricSpec("removed_accounts_bot_share", "share", "final",
               "Share of removed accounts that are bots (detector precision); NaN if none removed."),
    # The platform's three goals (recorded only when the platform block is enabled).
    MetricSpec("ad_revenue", "currency/day", "mean",
               "Total charged to advertisers that day (clicks x GSP price); recorded when platform.ads.enabled."),
    MetricSpec("revenue_per_person", "currency/person/day", "mean",
               "ad_revenue divided by the number of people."),
    MetricSpec("ad_impressions", "impressions/day", "mean",
               "Ad slots scrolled past that day, over everyone."),
    MetricSpec("ad_ctr", "share", "mean",
               "Share of ad impressions that were clicked that day."),
    MetricSpec("ad_targeting_precision", "share", "mean",
               "Share of impressions of targeting advertisers that reached people who truly match the targeting criteria (scored on ground truth)."),
    MetricSpec("criteria_per_person", "criteria/person", "final",
               "Mean number of inferred targeting criteria (topic affinities, leaning band, life-state flags) held with at least platform.targeting.min_confidence."),
    MetricSpec("criteria_precision", "share", "final",
               "Share of all held inferred criteria that are true of the person (scored on ground truth)."),
    MetricSpec("notifications_sent", "notifications/person/day", "mean",
               "Notifications delivered that day per person (a digest counts once); recorded when platform.notifications.enabled."),
    MetricSpec("notification_open_rate", "share", "mean",
               "Share of delivered notifications followed by a session in the same tick."),
    MetricSpec("retention_d1", "share", "mean",
               "Share of people active the day before who are active that day."),
    MetricSpec("retention_d7", "share", "mean",
               "Share of people active 7 days before who are active that day (NaN for the first 7 days)."),
    MetricSpec("retention_d30", "share", "mean",
               "Share of people active 30 days before who are active that day (NaN for the first 30 days)."),
    MetricSpec("churned_share", "share", "final",
               "Share of people who have left the platform for good."),
    MetricSpec("notifications_disabled_share", "share", "final",
               "Share of people who have switched notifications off."),
    MetricSpec("objective_per_person", "objective units/person/day", "mean",
               "Mean value of a person's day under platform.objective, from the platform's own log."),
    MetricSpec("experiments_run", "tests", "final",
               "A/B tests the platform optimizer has finished (cumulative, warm-up included)."),
    MetricSpec("experiments_shipped", "tests", "final",
               "Finished tests whose treatment the optimizer shipped (95% interval above zero)."),
    MetricSpec("opt_out_share", "share", "final",
               "Share of people who opted out of tracking; recorded when platform.consent.enabled."),
    MetricSpec("leaning_inference_mae_opt_out", "leaning", "final",
               "leaning_inference_mae over people who opted out of tracking."),
    MetricSpec("leaning_inference_mae_opt_in", "leaning", "final",
               "leaning_inference_mae over people who did not opt out."),
    MetricSpec("criteria_per_person_opt_out", "criteria/person", "final",
               "criteria_per_person over people who opted out of tracking."),
    MetricSpec("criteria_per_person_opt_in", "criteria/person", "final",
               "criteria_per_person over people who did not opt out."),
)  # fmt: skip

REACH_PREFIX = "reach_"
"""Metrics named ``reach_<group>`` are a content group's reach; their ratio to the
chronological arm is the group's amplification (Huszár et al. 2022)."""

BY_NAME: dict[str, MetricSpec] = {m.name: m for m in METRICS}


def summaries() -> dict[str, Literal["mean", "final"]]:
    """How each metric reduces a run to one number."""
    return {m.name: m.summary for m in METRICS}
