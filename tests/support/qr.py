"""Decoding QR codes from screenshots with OpenCV. The stock detector misses about one code in
sixty at phone resolution, so try both detectors at a few scales, plain and binarised."""

from __future__ import annotations

import cv2
import numpy as np


def decode_qr(png: bytes) -> str:
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    for detector in (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()):
        for scale in (1.0, 0.5, 0.75, 1.5):
            scaled = image if scale == 1.0 else cv2.resize(
                image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST)
            _, binary = cv2.threshold(scaled, 128, 255, cv2.THRESH_BINARY)
            for candidate in (scaled, binary):
                text = detector.detectAndDecode(candidate)[0]
                if text:
                    return text
    return ""
