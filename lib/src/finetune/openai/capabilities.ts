/**
 * Which base models can be fine-tuned with images, per provider — the ONE place this is decided — and
 * the choice of training data that follows from it (with-images or text-only files).
 *
 * As of FINE_TUNE_CAPABILITIES_AS_OF. The per-model flag is prices.ts's `visionFineTuning` (the dated
 * table of fine-tunable models); this file only adds where a provider differs. Sources:
 *  - OpenAI vision fine-tuning guide (developers.openai.com/api/docs/guides/vision-fine-tuning):
 *    image inputs in training data "use with gpt-4o-2024-08-06"; no other model named.
 *  - Azure OpenAI "Vision fine-tuning" (learn.microsoft.com/azure/foundry/openai/how-to/fine-tuning-vision):
 *    "supported for the following models only": gpt-4o 2024-08-06 and gpt-4.1 2025-04-14.
 *  - Azure fine-tuning model table: gpt-4o-mini-2024-07-18 "Text to text".
 * OpenAI's self-serve fine-tuning is being wound down: new jobs end for everyone on 2027-01-06
 * (FINE_TUNE_WIND_DOWN); Azure OpenAI keeps the same API.
 */
import { InputError } from "../../core/errors";
import { FINE_TUNE_JOBS_END, fineTuneJobsWarning, lifecycleWarning } from "../../openai/lifecycle";
import { FINE_TUNE_ALIASES, FINE_TUNE_PRICES } from "../../openai/prices";

export const FINE_TUNE_CAPABILITIES_AS_OF = "2026-11-25";
/** The day from which OpenAI accepts no new self-serve fine-tuning jobs (the lifecycle table's date). */
export const FINE_TUNE_WIND_DOWN = FINE_TUNE_JOBS_END;

/**
 * Azure OpenAI screens vision training images before training: "Images containing the following will be
 * excluded from your dataset and not used for training: People, Faces, Children, CAPTCHAs" (Azure OpenAI
 * "Vision fine-tuning", content moderation policy; MicrosoftDocs/azure-ai-docs
 * articles/ai-foundry/openai/how-to/fine-tuning-vision.md, ms.date 2026-02-11). Most street views show people.
 */
export const AZURE_VISION_SCREENING_NOTE =
  "Azure OpenAI drops training images that show people, faces or children before training (its vision fine-tuning content policy), and most street views show people: the job may train on far fewer images than were sent. Azure documents no count of the examples it kept; the record keeps training_examples_sent and what the job reports";

/**
 * What `finetune`, its dry run and notebook 02 warn about for a job on `baseModel`: the base model's
 * shutdown (its fine-tunes go with it) within 60 days or past, OpenAI's last day for new jobs, and Azure's
 * screening of images with people when the job trains with images.
 */
export function fineTuneLifecycleWarnings(baseModel: string, provider: FineTuneProvider = "openai", withImages = false, today?: string): string[] {
  const base = resolveBaseModel(baseModel);
  const shutdown = lifecycleWarning(base, { provider, switchHint: "its fine-tunes go with it: choose another base model with --base-model", ...(today ? { today } : {}) });
  return [
    ...(shutdown ? [`base model ${shutdown}`] : []),
    ...(provider === "openai" ? [fineTuneJobsWarning(today)].filter((w): w is string => w !== null) : []),
    ...(provider === "azure" && withImages ? [AZURE_VISION_SCREENING_NOTE] : []),
  ];
}

export type FineTuneProvider = "openai" | "azure";
export const FINE_TUNE_PROVIDERS: readonly FineTuneProvider[] = ["openai", "azure"];

/** The guide's model: GPT-4o-mini, text-only (no image fine-tuning for it on either provider). */
export const DEFAULT_BASE_MODEL = "gpt-4o-mini-2024-07-18";

/**
 * Models prices.ts marks `visionFineTuning` that a provider does not document for image fine-tuning.
 * gpt-4.1-2025-04-14: Azure documents it; OpenAI's vision guide names only gpt-4o-2024-08-06.
 */
const VISION_NOT_DOCUMENTED: Readonly<Record<FineTuneProvider, readonly string[]>> = {
  openai: ["gpt-4.1-2025-04-14"],
  azure: [],
};

const SOURCES: Readonly<Record<FineTuneProvider, string>> = {
  openai: "OpenAI vision fine-tuning guide (gpt-4o-2024-08-06 only)",
  azure: "Azure OpenAI vision fine-tuning (gpt-4o 2024-08-06, gpt-4.1 2025-04-14)",
};

export interface ImageFineTuningSupport {
  /** The dated snapshot (aliases resolved); the name as given when it is not in the table. */
  baseModel: string;
  provider: FineTuneProvider;
  /** Whether the provider documents image inputs in training data for this base model. */
  images: boolean;
  /** Whether the model is in the table at all (unknown models are treated as text-only). */
  known: boolean;
  source: string;
  asOf: string;
}

/** An undated alias (`gpt-4o-mini`) → the snapshot fine-tuning uses; other names unchanged. */
export function resolveBaseModel(name: string): string {
  return FINE_TUNE_ALIASES[name] ?? name;
}

/** Whether `baseModel` can be fine-tuned with images on `provider`, as of the table's date. */
export function imageFineTuningSupport(baseModel: string, provider: FineTuneProvider = "openai"): ImageFineTuningSupport {
  const snapshot = resolveBaseModel(baseModel);
  const entry = FINE_TUNE_PRICES[snapshot];
  const images = !!entry?.visionFineTuning && !VISION_NOT_DOCUMENTED[provider].includes(snapshot);
  return { baseModel: snapshot, provider, images, known: !!entry, source: SOURCES[provider], asOf: FINE_TUNE_CAPABILITIES_AS_OF };
}

/** Base models that take images in training data on `provider`. */
export function imageFineTuningModels(provider: FineTuneProvider = "openai"): string[] {
  return Object.keys(FINE_TUNE_PRICES).filter((m) => imageFineTuningSupport(m, provider).images);
}

/** The capability table as rows (notebooks, README). */
export function capabilityRows(): Record<string, unknown>[] {
  return Object.keys(FINE_TUNE_PRICES).map((m) => ({
    base_model: m,
    images_on_openai: imageFineTuningSupport(m, "openai").images,
    images_on_azure: imageFineTuningSupport(m, "azure").images,
    as_of: FINE_TUNE_CAPABILITIES_AS_OF,
  }));
}

export interface TrainingDataRequest {
  baseModel: string;
  provider?: FineTuneProvider;
  /** true: `--with-images`; false: `--text-only`; undefined: whatever the model supports. */
  withImages?: boolean;
  /** Use the with-images files even where the model does not document image fine-tuning. */
  force?: boolean;
}

export interface TrainingDataChoice {
  baseModel: string;
  provider: FineTuneProvider;
  withImages: boolean;
  support: ImageFineTuningSupport;
  /** What the user must know, in plain words (always set). */
  notice: string;
  /** Set when the choice goes against the table (forced). */
  warning?: string;
}

/**
 * With-images files when the base model supports image fine-tuning, else text-only — said plainly.
 * `withImages: true` on a model without image fine-tuning is refused (InputError) unless `force`.
 */
export function chooseTrainingData(req: TrainingDataRequest): TrainingDataChoice {
  const provider = req.provider ?? "openai";
  const support = imageFineTuningSupport(req.baseModel, provider);
  const base = { baseModel: support.baseModel, provider, support };
  const visionModels = imageFineTuningModels(provider).join(", ") || "none";
  const textOnlyNotice =
    `${support.baseModel} is trained TEXT-ONLY: the model will not see the images during training. ` +
    `It learns the reply format and the ratings' distribution from text alone; when it scores, it still sees ` +
    `the image, through the base model's unchanged vision.`;
  if (req.withImages === true && !support.images) {
    const why = support.known
      ? `${provider} does not document image fine-tuning for ${support.baseModel} (table as of ${support.asOf}; ${support.source})`
      : `${support.baseModel} is not in the capability table (lib/src/openai/prices.ts), so image fine-tuning is not known to work`;
    if (!req.force) {
      throw new InputError(
        [
          {
            file: "--with-images",
            kind: "invalid-option",
            message: `${why}. Use a base model with image fine-tuning on ${provider} (${visionModels}), train text-only (--text-only), or add --force to send the images anyway (the provider will probably reject the file)`,
          },
        ],
        "image fine-tuning refused",
      );
    }
    return {
      ...base,
      withImages: true,
      notice: `with images (forced): ${why}.`,
      warning: `forced --with-images: expect ${provider} to reject the training file for ${support.baseModel}`,
    };
  }
  if (req.withImages === false) {
    return {
      ...base,
      withImages: false,
      notice: support.images
        ? `text-only requested (--text-only): ${support.baseModel} could learn from the images, but will not see them during training.`
        : textOnlyNotice,
    };
  }
  if (support.images) {
    return { ...base, withImages: true, notice: `with images: ${support.baseModel} supports image fine-tuning on ${provider}; every training example includes its street-view image.` };
  }
  const hint = ` For image fine-tuning on ${provider} choose the base model ${imageFineTuningModels(provider).join(" or ")}.`;
  return { ...base, withImages: false, notice: textOnlyNotice + (visionModels !== "none" ? hint : "") };
}
