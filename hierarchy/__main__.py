"""``python -m hierarchy``: the ``hierarchy`` command."""
if __name__ == "__main__":
    from hierarchy.cli import main

    main()
