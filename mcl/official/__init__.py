"""The official MotionCLIP (GuyTevet/MotionCLIP) inside mcl: its tensor convention, checkpoints and parsed data.

    codec.py        the official motion <-> 25 x 6 x T convention (rows-6D, AMASS z-up world, translation row)
    checkpoint.py   official state-dict keys <-> `mcl.model.MotionCLIP`; import to / export from an mcl run dir
    opt.py          reading the official `opt.yaml` (architecture and data conventions)
    amass_db.py     the official parsed AMASS files (`amass_db/*.pt`, joblib pickles): refused unless trusted
    cli.py          `mcl import-official`, `mcl export-official`, `mcl convert-official-amass`

Facts come from reading the official code; the code here is our own. Nothing in this package unpickles a file
unless the user says they trust it, and then only through an allow-list of globals.
"""
