"""The moderator service: welcome, vote-kick, password invites, friendship, anti-flood, help, room admin."""
