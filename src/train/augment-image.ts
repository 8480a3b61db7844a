/**
 * @module train/augment-image
 * Image data augmentation on decoded pixels — pure functions that take an
 * {@link PixelImage} (row-major, interleaved channels, 8-bit `Uint8Array` or
 * float `Float32Array`) and return a new one: random crop, horizontal and
 * vertical flip, rotation (bilinear, corners filled), brightness/contrast
 * (torchvision's `ColorJitter` definitions: brightness scales towards black,
 * contrast blends with the mean grey level) and Gaussian noise. 8-bit results
 * are rounded and clamped to [0, 255]; float images are left unclamped.
 * Decoding is not done here (see `embed/media`); any `{ width, height, data }`
 * RGB buffer fits.
 */
import { EmbedkitError } from "../errors.js";
import type { Random } from "../vectors/random.js";

/** Decoded pixels. */
export interface PixelImage {
  readonly width: number;
  readonly height: number;
  /** Values per pixel (3 for RGB). @default 3 */
  readonly channels?: number;
  /** `width × height × channels` values, row-major, channels interleaved. */
  readonly data: Uint8Array | Float32Array;
}

function checkImage(image: PixelImage): number {
  const channels = image.channels ?? 3;
  const { width, height } = image;
  if (
    !Number.isInteger(width) ||
    !Number.isInteger(height) ||
    width < 1 ||
    height < 1 ||
    !Number.isInteger(channels) ||
    channels < 1
  ) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `An image needs positive integer width, height and channels, received ${String(width)}×${String(height)}×${String(channels)}.`,
    );
  }
  if (image.data.length !== width * height * channels) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `Image data has ${image.data.length} values, but ${width}×${height}×${channels} needs ${width * height * channels}.`,
      { details: { expected: width * height * channels, received: image.data.length } },
    );
  }
  return channels;
}

function blank(
  image: PixelImage,
  width: number,
  height: number,
  channels: number,
): Uint8Array | Float32Array {
  return image.data instanceof Uint8Array
    ? new Uint8Array(width * height * channels)
    : new Float32Array(width * height * channels);
}

function store(target: Uint8Array | Float32Array, index: number, value: number): void {
  target[index] = target instanceof Uint8Array ? Math.min(255, Math.max(0, Math.round(value))) : value;
}

/**
 * Cut a `width × height` window at a random position.
 *
 * @throws EmbedkitError INVALID_OPTION when the window is larger than the image.
 */
export function randomCrop(
  image: PixelImage,
  options: { readonly width: number; readonly height: number; readonly random: Random },
): PixelImage {
  const channels = checkImage(image);
  const { width, height } = options;
  if (
    !Number.isInteger(width) ||
    !Number.isInteger(height) ||
    width < 1 ||
    height < 1 ||
    width > image.width ||
    height > image.height
  ) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Crop size ${String(width)}×${String(height)} must be positive and fit in the ${image.width}×${image.height} image.`,
    );
  }
  const left = options.random.integer(image.width - width + 1);
  const top = options.random.integer(image.height - height + 1);
  const out = blank(image, width, height, channels);
  for (let y = 0; y < height; y++) {
    const start = ((top + y) * image.width + left) * channels;
    out.set(image.data.subarray(start, start + width * channels), y * width * channels);
  }
  return { width, height, channels, data: out };
}

/** Mirror left–right (`horizontal`) or top–bottom (`vertical`). */
export function flipImage(image: PixelImage, direction: "horizontal" | "vertical"): PixelImage {
  const channels = checkImage(image);
  const { width, height } = image;
  const out = blank(image, width, height, channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const sourceX = direction === "horizontal" ? width - 1 - x : x;
      const sourceY = direction === "vertical" ? height - 1 - y : y;
      const from = (sourceY * width + sourceX) * channels;
      const to = (y * width + x) * channels;
      for (let c = 0; c < channels; c++) out[to + c] = image.data[from + c] as number;
    }
  }
  return { width, height, channels, data: out };
}

/**
 * Rotate by `degrees` (counter-clockwise) about the centre, keeping the size;
 * bilinear sampling, pixels from outside the source get `fill`.
 */
export function rotateImage(image: PixelImage, degrees: number, fill = 0): PixelImage {
  const channels = checkImage(image);
  if (!Number.isFinite(degrees)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Rotation must be a finite number of degrees, received ${String(degrees)}.`,
    );
  }
  const { width, height } = image;
  const out = blank(image, width, height, channels);
  const radians = (degrees * Math.PI) / 180;
  const cos = Math.cos(radians);
  const sin = Math.sin(radians);
  const centreX = (width - 1) / 2;
  const centreY = (height - 1) / 2;
  const sample = (x: number, y: number, c: number): number =>
    x < 0 || y < 0 || x >= width || y >= height
      ? fill
      : (image.data[(y * width + x) * channels + c] as number);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // Inverse mapping: where in the source does this output pixel come from (y grows downwards).
      const dx = x - centreX;
      const dy = y - centreY;
      const sourceX = cos * dx - sin * dy + centreX;
      const sourceY = sin * dx + cos * dy + centreY;
      const x0 = Math.floor(sourceX);
      const y0 = Math.floor(sourceY);
      const fx = sourceX - x0;
      const fy = sourceY - y0;
      for (let c = 0; c < channels; c++) {
        const value =
          (1 - fx) * (1 - fy) * sample(x0, y0, c) +
          fx * (1 - fy) * sample(x0 + 1, y0, c) +
          (1 - fx) * fy * sample(x0, y0 + 1, c) +
          fx * fy * sample(x0 + 1, y0 + 1, c);
        store(out, (y * width + x) * channels + c, value);
      }
    }
  }
  return { width, height, channels, data: out };
}

/**
 * Brightness and contrast as torchvision defines them: `brightness` multiplies
 * every value (0 = black, 1 = unchanged); `contrast` blends each value with the
 * image's mean grey level (0 = flat grey, 1 = unchanged). Grey uses the ITU-R
 * 601 weights for 3-channel images and the plain mean otherwise.
 *
 * @throws EmbedkitError INVALID_OPTION for a negative factor.
 */
export function adjustBrightnessContrast(
  image: PixelImage,
  options: { readonly brightness?: number; readonly contrast?: number },
): PixelImage {
  const channels = checkImage(image);
  const brightness = options.brightness ?? 1;
  const contrast = options.contrast ?? 1;
  if (!(brightness >= 0 && contrast >= 0 && Number.isFinite(brightness) && Number.isFinite(contrast))) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Brightness and contrast factors must be finite and >= 0, received ${String(brightness)} and ${String(contrast)}.`,
    );
  }
  const pixels = image.width * image.height;
  const bright = new Float64Array(image.data.length);
  for (let i = 0; i < bright.length; i++) bright[i] = (image.data[i] as number) * brightness;
  if (image.data instanceof Uint8Array)
    for (let i = 0; i < bright.length; i++) bright[i] = Math.min(255, Math.max(0, bright[i] as number));
  let grey = 0;
  for (let p = 0; p < pixels; p++) {
    const offset = p * channels;
    if (channels === 3) {
      grey +=
        0.299 * (bright[offset] as number) +
        0.587 * (bright[offset + 1] as number) +
        0.114 * (bright[offset + 2] as number);
    } else {
      for (let c = 0; c < channels; c++) grey += (bright[offset + c] as number) / channels;
    }
  }
  grey /= pixels;
  const out = blank(image, image.width, image.height, channels);
  for (let i = 0; i < bright.length; i++)
    store(out, i, contrast * (bright[i] as number) + (1 - contrast) * grey);
  return { width: image.width, height: image.height, channels, data: out };
}

/** Add independent Gaussian noise of standard deviation `sigma` (in pixel units) to every value. */
export function addGaussianNoise(
  image: PixelImage,
  options: { readonly sigma: number; readonly random: Random },
): PixelImage {
  const channels = checkImage(image);
  if (!(options.sigma >= 0 && Number.isFinite(options.sigma))) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Noise sigma must be a finite number >= 0, received ${String(options.sigma)}.`,
    );
  }
  const out = blank(image, image.width, image.height, channels);
  for (let i = 0; i < out.length; i++)
    store(out, i, (image.data[i] as number) + options.sigma * options.random.gaussian());
  return { width: image.width, height: image.height, channels, data: out };
}

/** Settings of {@link augmentImage}; each step is skipped when its option is absent. */
export interface AugmentImageOptions {
  readonly random: Random;
  /** Random crop to this fraction of each side (then the caller resizes). */
  readonly cropScale?: number;
  /** Probability of a horizontal flip. */
  readonly horizontalFlip?: number;
  /** Probability of a vertical flip. */
  readonly verticalFlip?: number;
  /** Rotate by a uniform angle in [−maxRotation, maxRotation] degrees. */
  readonly maxRotation?: number;
  /** Brightness factor drawn uniformly from [1 − b, 1 + b]. */
  readonly brightness?: number;
  /** Contrast factor drawn uniformly from [1 − c, 1 + c]. */
  readonly contrast?: number;
  /** Gaussian noise sigma. */
  readonly noiseSigma?: number;
}

/**
 * A random augmentation pipeline: crop → flips → rotation → brightness/contrast → noise.
 *
 * @example
 * ```ts
 * const augmented = augmentImage(rgb, { random: createRandom(3), cropScale: 0.9, horizontalFlip: 0.5, maxRotation: 10, brightness: 0.2 });
 * ```
 */
export function augmentImage(image: PixelImage, options: AugmentImageOptions): PixelImage {
  const { random } = options;
  let out: PixelImage = { ...image, channels: checkImage(image) };
  if (options.cropScale !== undefined && options.cropScale < 1) {
    out = randomCrop(out, {
      width: Math.max(1, Math.round(out.width * options.cropScale)),
      height: Math.max(1, Math.round(out.height * options.cropScale)),
      random,
    });
  }
  if (options.horizontalFlip !== undefined && random.next() < options.horizontalFlip)
    out = flipImage(out, "horizontal");
  if (options.verticalFlip !== undefined && random.next() < options.verticalFlip)
    out = flipImage(out, "vertical");
  if (options.maxRotation !== undefined && options.maxRotation > 0) {
    out = rotateImage(out, (2 * random.next() - 1) * options.maxRotation);
  }
  if (options.brightness !== undefined || options.contrast !== undefined) {
    const factor = (spread: number | undefined): number =>
      spread === undefined ? 1 : Math.max(0, 1 + (2 * random.next() - 1) * spread);
    out = adjustBrightnessContrast(out, {
      brightness: factor(options.brightness),
      contrast: factor(options.contrast),
    });
  }
  if (options.noiseSigma !== undefined && options.noiseSigma > 0)
    out = addGaussianNoise(out, { sigma: options.noiseSigma, random });
  return out;
}
