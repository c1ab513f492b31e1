"""``python -m etsygen_simulators.ai --port 8799``: serve the fake AI APIs until interrupted."""

from etsygen_simulators.ai.server import main

if __name__ == "__main__":
    main()
