"""Every visitor's Teach session in one app: who has which folder, models and place in the training queue."""

from __future__ import annotations

import functools
import hashlib
import logging
import tempfile
from pathlib import Path

from signspace.core.errors import SignSpaceError
from signspace.core.hand_model import resolve_hand_model
from signspace.serve.inference import Predictor
from signspace.teach.folder import TeachFolder, TeachLimits
from signspace.teach.jobs import TrainingQueue
from signspace.teach.session import ModelShelf, SharedModel, TeachSession, trained_models

logger = logging.getLogger(__name__)
SHARED_SESSION_HOURS = 6  # a shared Space's visitor folder is removed after this even if no tab-close arrives


@functools.lru_cache(maxsize=4)
def teach_hand_model(option: str | None) -> str | None:
    """Resolved once per app, not on every page load (a missing model may mean a download attempt)."""
    try:
        return str(resolve_hand_model(option))
    except SignSpaceError as exc:  # the page says so; recording still works, training will say it again
        logger.warning("no hand model for the Teach tab: %s", exc)
        return None


def visitor_root() -> Path:
    """Where a shared Space keeps each visitor's private folder. Served in place (``gr.set_static_paths``), so a
    replayed clip is never copied into Gradio's cache: it is gone once the visitor's folder is."""
    return Path(tempfile.gettempdir()) / "signspace-teach"


class Visitors:
    """The Teach tab's state shared by every visitor of one app (made by ``app.build_demo``): one training queue,
    the open sessions by Gradio session, and locally one folder object per data folder (so its lock is shared).
    ``config``: the app's settings (``per_visitor``, ``data_dir``, ``hand_model``, ``unmirror``, ``tracking``)."""

    def __init__(
        self,
        config,
        base,
        base_name: str,
        queue: TrainingQueue | None = None,
        root: Path | None = None,
        shared: dict[str, SharedModel] | None = None,
    ):
        self.config, self.base, self.base_name = config, base, base_name
        self.shared = shared or {}  # models every visitor may pick (the starter), loaded once for all
        self.queue = queue or TrainingQueue()  # one training at a time for the whole app
        self.root = root or visitor_root()  # a shared Space's private visitor folders live here
        self.sessions: dict[str, TeachSession] = {}
        self.folders: dict[Path, TeachFolder] = {}
        # A shared Space records what the Teach tab's motion models need, tracked in the browser: landmarks only.
        self.records_landmarks = config.per_visitor and config.tracking != "server"

    def open(self, owner: str | None) -> TeachSession:
        """The visitor's session (``owner``: their Gradio session, None locally): their own temporary folder on a
        shared Space, else ``--data_dir``."""
        config = self.config
        owner = owner or "local"
        hand_model = teach_hand_model(getattr(self.base, "hand_model", None) or config.hand_model)
        if config.per_visitor:
            # The session id comes from the browser: hashed, it can name no other folder (no "../").
            private = self.root / hashlib.blake2b(owner.encode()).hexdigest()[:32]
            folder = TeachFolder(private, TeachLimits.public(), hand_model)
        else:  # every tab shares one folder object, and so its lock: two tabs never write the same clip name
            root = Path(config.data_dir).resolve()
            folder = self.folders.setdefault(root, TeachFolder(root, TeachLimits(), hand_model))

        def load(path: Path):
            return Predictor.from_pretrained(str(path), None, unmirror=config.unmirror, hand_model=hand_model)

        shelf = ModelShelf(self.base, self.base_name, load)
        for name, model in self.shared.items():
            shelf.add(name, model, select=False)
        if not config.per_visitor:  # models trained in earlier runs stay selectable
            for path in reversed(trained_models(folder)):
                shelf.add(path.name, path, select=False)
        session = TeachSession(folder, shelf, owner, config.per_visitor, self.queue)
        session.records_landmarks = self.records_landmarks
        previous = self.sessions.pop(owner, None)
        if previous is not None and previous is not session:
            previous.close()
        self.sessions[owner] = session
        return session

    def leave(self, owner: str | None) -> None:
        """The visitor closed the tab (Gradio's unload event)."""
        session = self.sessions.get(owner or "local")
        if session is not None:
            self.close(session)

    def close(self, session: TeachSession) -> None:
        if self.sessions.get(session.owner) is session:
            del self.sessions[session.owner]
        session.close()
