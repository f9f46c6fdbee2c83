# Freeze manifest of the board proxy: exactly what the unix board gets (boards/unix).
include("../unix/manifest.py")
