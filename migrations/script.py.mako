"""${message}

Do not write revisions by hand: `hotelcore migrations new -m "..."` (make revision m=...)
writes one from db/manifest.txt with its manifests and snapshots.
"""

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None


def upgrade() -> None:
    raise NotImplementedError("use `hotelcore migrations new`")


def downgrade() -> None:
    raise NotImplementedError("use `hotelcore migrations new`")
