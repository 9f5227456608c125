"""The Models menu's windows: the training wizard and the trained-models dialog, and news of changed models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from ..jobs import JobRunner

if TYPE_CHECKING:  # the wizard's pages import the engine's training modules: loaded when first opened
    from .session import TrainingSession
    from .trained_models_dialog import TrainedModelsDialog
    from .wizard import TrainingWizard


class ModelsMenu(QObject):
    """Opens the wizard (keeping it while its run matters) and the models dialog; says when models changed."""

    models_changed = Signal()  # another model is active, or the list changed: codes, numbers and results reload

    def __init__(self, runner: JobRunner, say: Callable[[str, int], None], parent: QWidget) -> None:
        super().__init__(parent)
        self.runner = runner
        self.say = say  # a status-bar message, for how long (ms)
        self.host = parent  # the windows open over this one
        self.training_wizard: Optional["TrainingWizard"] = None
        self.models_dialog: Optional["TrainedModelsDialog"] = None

    def open_training_wizard(self, overrides: Optional[dict] = None, default_epochs: Optional[int] = None) -> "TrainingWizard":
        """Show the wizard; while a run is going (or waiting to be looked at) the same one comes back."""
        from .wizard import TrainingWizard

        wizard = self.training_wizard
        # Keep the wizard while it runs, or while its trained model waits to be evaluated and activated.
        session = wizard.plan.session if wizard is not None else None
        keep = wizard is not None and (
            wizard.isVisible() or (session is not None and (session.running or (session.state == "ok" and not wizard.activate_page.activated)))
        )
        if not keep:
            if wizard is not None:
                wizard.deleteLater()
            wizard = TrainingWizard(self.runner, self.host, overrides=overrides, default_epochs=default_epochs)
            wizard.plan.model_activated.connect(lambda _id: self.models_changed.emit())
            wizard.plan.training_started.connect(self._follow)
            self.training_wizard = wizard
        wizard.show()
        wizard.raise_()
        wizard.activateWindow()
        return wizard

    def _follow(self, session: "TrainingSession") -> None:
        """Say in the status bar how a run ended when the wizard is not looking."""

        def ended(state: str) -> None:
            wizard = self.training_wizard
            hidden = wizard is None or not wizard.isVisible()
            if state == "ok":
                self.say("Training finished." + (" Open Models → Train a model… to evaluate and activate it." if hidden else ""), 15000)
            elif state == "failed":
                self.say(session.error, 15000)
            else:
                self.say("Training cancelled: the current model stays active.", 10000)

        session.ended.connect(ended)

    def open_models(self) -> "TrainedModelsDialog":
        from .trained_models_dialog import TrainedModelsDialog

        dialog = TrainedModelsDialog(self.runner, self.host)
        dialog.models_changed.connect(self.models_changed.emit)
        dialog.open()
        self.models_dialog = dialog
        return dialog
