"""All behaviour parameters in one group, as the experiment config names them."""

from __future__ import annotations

from feedlab.behaviour.choice import ChoiceParams
from feedlab.behaviour.controls import ControlParams
from feedlab.behaviour.creation import CreationParams
from feedlab.behaviour.drift import DriftParams
from feedlab.behaviour.reactions import ReactionParams
from feedlab.behaviour.sessions import SessionParams
from feedlab.behaviour.social_proof import SocialProofParams
from feedlab.behaviour.survey import SurveyParams
from feedlab.core.params import Params


class BehaviourParams(Params):
    """How simulated people act and change.

    Attributes:
        sessions: when people open the app.
        choice: how they answer impressions.
        creation: what they post.
        drift: how they change.
        survey: how they answer the platform's "worth your time?" survey.
        controls: how they set feed controls when a platform offers them.
        social_proof: how visible like counts sway them.
        reactions: how they answer ads and notifications, and when they leave.
    """

    sessions: SessionParams = SessionParams()
    choice: ChoiceParams = ChoiceParams()
    creation: CreationParams = CreationParams()
    drift: DriftParams = DriftParams()
    survey: SurveyParams = SurveyParams()
    controls: ControlParams = ControlParams()
    social_proof: SocialProofParams = SocialProofParams()
    reactions: ReactionParams = ReactionParams()
