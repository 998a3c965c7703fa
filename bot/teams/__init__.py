"""The Microsoft Teams app: the same assistant in a personal chat, Adaptive Cards with Universal Actions.

adapter.py is the only module that imports the Teams SDK (microsoft-teams-apps); handlers.py
translates activities into assistant calls; cards.py renders the neutral card as an Adaptive
Card 1.5; surface.py lets the chat delivery layer post and update cards in Teams.
"""
