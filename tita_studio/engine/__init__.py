"""Running a network on images: device and precision, tiles and blending, progress and cancel."""
